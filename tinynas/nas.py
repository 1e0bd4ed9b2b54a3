"""`tinyml nas`: search, train and export the most accurate model that fits a board.

Phases (each checkpointed in OUT/checkpoint, so an interrupted run resumes):
  1. space     search-space optimisation over (width, resolution) sub-spaces
  2. supernet  train the weight-sharing supernet of the chosen sub-space (the largest and random
               sub-networks within the MAC limit, or the sandwich rule)
  3. search    evolutionary search; fitness = supernet accuracy on the validation split
               after batch-norm recalibration (through the executor: in process or Ray
               actors)
     (choice)  the best 8 rescored on the whole validation split, and the one with the most
               MACs within one standard error of the best kept; optionally short fine-tuning
               trials of the best few finalists instead
  4. finish    train the winner (from scratch by default), quantize to int8, compile it with the
               engine (in place + patches), verify it bit-exactly, and measure the int8
               accuracy of the generated C on the whole test set
Each phase is a function over `_Run` (what the phases hand to each other), run in the order of
`PHASES`. The time budget is split between phases (fractions below); every result goes to
OUT/search.json, OUT/report.md and plots. When the budget leaves the supernet too little training
to rank anything, the run says so (`ranking_note`)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinyengine.core.errors import TinyMLError, require_choice

from .cost import Cost
from .data import Dataset, flip_half, load_dataset
from .executor import make_executor
from .fitness import TRIAL_IMAGES, ScorerSpec, calibration_batches, load_scorer, score, trial
from .interrupt import SafeInterrupt
from .options import (
    DEFAULT_BACKEND,
    DEFAULT_FINAL_INIT,
    DEFAULT_SAMPLING,
    DEFAULT_SUPERNET_LOSS,
    FINAL_INITS,
    SAMPLINGS,
    SUPERNET_LOSSES,
)
from .search import Evaluated, Limits, SubSpace, best_of, evolve, optimise_space, top_distinct, within_noise
from .space import Arch, SearchSpace

# Where the budget goes (cumulative fractions of the whole budget at which a phase ends).
# Fine-tuning gets the largest share: on a CPU budget it decides the final accuracy, while the
# supernet only has to rank candidates. The last 5% are for export, verification and the
# test-set evaluation.
PHASE_END = {"space": 0.10, "supernet": 0.45, "search": 0.55, "finetune": 0.95}
FINALISTS = 8       # best distinct candidates rescored on the whole validation split before the choice
OTHER_SRAM = 1024   # .data/.bss besides the arena (measured ~150-400 B on the QEMU boards), rounded up
MIN_SUPERNET_STEPS = 100   # fewer training steps than this leave the supernet unable to rank candidates
REAL_SEARCH_MINUTES = 30   # the budget the note on a meaningless ranking recommends


@dataclass(frozen=True)
class NasConfig:
    dataset: str
    out: Path
    sram_total: int              # the device's SRAM (bytes)
    flash_total: int
    stack_bytes: int = 8192
    board: str | None = None
    budget_minutes: float = 60.0
    seed: int = 0
    backend: str = DEFAULT_BACKEND
    ray_address: str | None = None
    samples: int = 24            # architectures sampled per sub-space
    population: int = 12
    generations: int = 8
    parents: int = 4
    train_limit: int | None = None
    batch: int = 64
    verify_inputs: int = 20
    max_macs: int | None = None
    finetune_trials: int = 1     # >1: fine-tune this many finalists briefly, keep the best
    sampling: str = DEFAULT_SAMPLING             # what each supernet step trains (options.SAMPLINGS)
    supernet_loss: str = DEFAULT_SUPERNET_LOSS   # what its sub-networks learn from (options.SUPERNET_LOSSES)
    final_init: str = DEFAULT_FINAL_INIT         # where the chosen model's training starts (options.FINAL_INITS)

    @property
    def limits(self) -> Limits:
        """The memory limits, and the MAC limit the user gave (see `_limits` for the budget's own)."""
        return Limits(self.sram_total - self.stack_bytes - OTHER_SRAM, self.flash_total, self.max_macs)


class NasInterrupted(TinyMLError):
    """Ctrl-C during a search: the checkpoint is saved, the same command resumes."""

    exit_code = 130   # the shell's status for SIGINT; the CLI exits with it


class _Clock:
    def __init__(self, budget_s: float, spent: float = 0.0):
        self.budget, self.start = budget_s, time.monotonic() - spent

    @property
    def spent(self) -> float:
        return time.monotonic() - self.start

    def past(self, phase: str) -> bool:
        return self.spent >= PHASE_END[phase] * self.budget


def _bar(total: int, desc: str):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


class Checkpoint:
    def __init__(self, folder: Path):
        self.folder = folder
        self.state_path = folder / "state.json"

    def load(self) -> dict:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def save(self, state: dict, weights: list[np.ndarray] | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if weights is not None:
            tmp = self.folder / "supernet.tmp.npz"
            np.savez(tmp, *weights)
            tmp.replace(self.folder / "supernet.npz")
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_path)

    def weights(self) -> list[np.ndarray] | None:
        path = self.folder / "supernet.npz"
        if not path.exists():
            return None
        from .supernet import SuperNet

        return SuperNet.read_weights(path)


def _evaluated_json(e: Evaluated) -> dict:
    return {"arch": json.loads(e.arch.to_json()), "key": e.arch.key, "cost": asdict(e.cost),
            "accuracy": e.accuracy, "generation": e.generation}


def _evaluated_from(d: dict) -> Evaluated:
    return Evaluated(Arch.from_json(json.dumps(d["arch"])), Cost(**d["cost"]), d["accuracy"], d["generation"])


def _limits(cfg: NasConfig, state: dict, space: SearchSpace, ds, log) -> Limits:
    """The board's limits, plus a MAC limit: the user's (--max-mmacs), or else what the fine-tuning
    share of the budget can train for MIN_EPOCHS epochs on this machine (measured once, kept in
    the checkpoint so a resumed run uses the same)."""
    from .budget import MIN_EPOCHS, Throughput, affordable_macs, measure_throughput

    if "max_macs_source" not in state:
        if cfg.max_macs is not None:
            state["max_macs"], state["max_macs_source"] = cfg.max_macs, "--max-mmacs"
        else:
            tp = measure_throughput(space, ds.x_train, ds.y_train, cfg.batch, cfg.seed)
            seconds = (PHASE_END["finetune"] - PHASE_END["search"]) * cfg.budget_minutes * 60
            state["throughput"] = asdict(tp)
            state["max_macs"] = affordable_macs(tp, seconds, len(ds.x_train))
            state["max_macs_source"] = "budget"
    if state["max_macs_source"] == "budget":
        tp = Throughput(**state["throughput"])
        log(f"training throughput {tp.images_per_second:,.0f} images/s at {tp.macs:,} MACs: "
            f"{MIN_EPOCHS} fine-tuning epochs of {len(ds.x_train):,} images fit the budget up to "
            f"{state['max_macs']:,} MACs (set --max-mmacs to override)")
    base = cfg.limits
    return Limits(base.sram_bytes, base.flash_bytes, state["max_macs"])


def ranking_at_chance(accuracies: list[float], num_classes: int, images: int) -> bool:
    """True when no candidate's accuracy on `images` validation images is above chance
    (1 / `num_classes`) by more than half of chance, or by more than three binomial standard
    errors where those are larger: the scores are noise. (A network that has learnt nothing
    still scores a little off chance, as its predictions favour some classes.)"""
    chance = 1.0 / num_classes
    se = float(np.sqrt(chance * (1.0 - chance) / max(images, 1)))
    return max(accuracies) <= chance + max(chance / 2, 3 * se)


def ranking_note(steps: int, accuracies: list[float], num_classes: int, images: int, trials: bool = False,
                 budget_minutes: float | None = None) -> str | None:
    """A plain statement that the supernet's ranking says nothing, or None when it may: when the
    finalists' accuracies (on `images` validation images) are all within noise of chance, or the
    supernet trained fewer than MIN_SUPERNET_STEPS steps. `trials`: fine-tuning trials chose the
    model; `budget_minutes`: the run's budget (the advice asks for more than it)."""
    chance = 1.0 / num_classes
    at_chance = ranking_at_chance(accuracies, num_classes, images)
    if not at_chance and steps >= MIN_SUPERNET_STEPS:
        return None
    by = "the fine-tuning trials" if trials else "cost"
    if at_chance:
        what = f"its ranking is at chance ({chance:.2f}), so the model was chosen by {by} alone"
    else:
        what = (f"too few to rank the candidates (best {max(accuracies):.2f}, chance {chance:.2f}), so the "
                f"model was chosen mostly by {by}")
    more = (f"--budget-minutes {REAL_SEARCH_MINUTES} or more"
            if budget_minutes is None or budget_minutes < REAL_SEARCH_MINUTES else "a longer --budget-minutes")
    return (f"the supernet trained for {steps:,} step{'' if steps == 1 else 's'} in this budget: {what}; "
            f"give {more} for a real search")


def run_nas(cfg: NasConfig, log=print) -> dict:
    """Run (or resume) a search. Ctrl-C stops it at the next safe point with its checkpoint saved
    and raises NasInterrupted."""
    with SafeInterrupt() as interrupt:
        return _run_nas(cfg, log, interrupt.check)


@dataclass
class _Run:
    """What the phases hand to each other. `state` is the part that is checkpointed (a JSON dict in
    OUT/checkpoint/state.json, with `state["phase"]` the phase to run next); the rest is rebuilt
    from it and the config whenever a run starts or resumes."""
    cfg: NasConfig
    log: Callable[[str], None]
    check: Callable[[], None]
    ckpt: Checkpoint
    state: dict
    clock: _Clock
    rng: np.random.Generator
    ds: Dataset
    space: SearchSpace
    executor: Any
    limits: Limits
    sub: SubSpace | None = None
    net: Any = None                        # the SuperNet of the chosen sub-space
    x_train: np.ndarray | None = None      # the training inputs at the sub-space's resolution
    calib: list[np.ndarray] | None = None  # batch-norm calibration batches
    scorer_spec: ScorerSpec | None = None
    history: list[Evaluated] = field(default_factory=list)
    chosen: Evaluated | None = None
    ranking_note: str | None = None        # set when the supernet's ranking says nothing (`ranking_note`)
    result: dict | None = None

    def save(self, weights: list[np.ndarray] | None = None) -> None:
        self.state["spent"] = self.clock.spent
        self.ckpt.save(self.state, weights)


def _start(cfg: NasConfig, log, check) -> _Run:
    """Check the options, load (or start) the checkpoint, the data and the limits."""
    # before any work: a wrong name should not surface an hour into the run
    require_choice("supernet sampling", cfg.sampling, SAMPLINGS)
    require_choice("supernet loss", cfg.supernet_loss, SUPERNET_LOSSES)
    require_choice("final-training start", cfg.final_init, FINAL_INITS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    cfg.out.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpoint(cfg.out / "checkpoint")
    state = ckpt.load()
    config_key = json.dumps({k: str(v) for k, v in asdict(cfg).items() if k not in ("out", "budget_minutes")},
                            sort_keys=True)
    if state and state.get("config") != config_key:
        raise TinyMLError(f"{cfg.out} holds a checkpoint of a different search; use another -o or delete "
                          f"{ckpt.folder}")
    if state:
        log(f"resuming from {ckpt.folder} (phase '{state['phase']}', {state['spent']:.0f} s spent)")
    state.setdefault("config", config_key)
    state.setdefault("phase", "space")
    clock = _Clock(cfg.budget_minutes * 60, state.get("spent", 0.0))
    tf.keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng([cfg.seed, len(state.get("history", []))])
    ds = load_dataset(cfg.dataset, seed=cfg.seed, limit=cfg.train_limit)
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    executor = make_executor(cfg.backend, cfg.ray_address)
    limits = _limits(cfg, state, space, ds, log)
    log(f"limits: arena <= {limits.sram_bytes:,} B (SRAM {cfg.sram_total:,} B less {cfg.stack_bytes:,} B stack and "
        f"{OTHER_SRAM:,} B other data), flash <= {limits.flash_bytes:,} B"
        + (f", MACs <= {limits.max_macs:,}" if limits.max_macs else "") + f"; budget {cfg.budget_minutes:g} min")
    return _Run(cfg, log, check, ckpt, state, clock, rng, ds, space, executor, limits)


def _space_phase(run: _Run) -> None:
    """1. Search-space optimisation: the (width, resolution) sub-space to search."""
    cfg, state, limits = run.cfg, run.state, run.limits
    if state["phase"] == "space":
        bar = _bar(len(run.space.widths) * len(run.space.resolutions), "sub-spaces")
        best, subs = optimise_space(run.space, limits, cfg.samples, np.random.default_rng(cfg.seed), run.executor,
                                    (lambda d, t: bar.update(1)) if bar else None)
        if bar:
            bar.close()
        if not best.fitting_macs and state.get("max_macs_source") == "budget":
            run.log("no sampled model is small enough to train for the planned epochs; searching without a "
                    "MAC limit")
            state["max_macs"], state["max_macs_source"] = None, "none (the budget's limit left no model)"
            limits = run.limits = Limits(limits.sram_bytes, limits.flash_bytes, None)
            best, subs = optimise_space(run.space, limits, cfg.samples, np.random.default_rng(cfg.seed),
                                        run.executor)
        if not best.fitting_macs:
            raise TinyMLError(f"no sampled model fits (arena <= {limits.sram_bytes:,} B, flash <= "
                              f"{limits.flash_bytes:,} B" + (f", MACs <= {limits.max_macs:,}" if limits.max_macs
                                                             else "")
                              + "); raise the limits, pick a bigger board or sample more (--samples)")
        state["subspaces"] = [asdict(s) for s in subs]
        state["subspace"] = asdict(best)
        state["phase"] = "supernet"
        run.save()
        run.log(f"sub-space: width {best.width:g}, resolution {best.resolution} (median fitting MACs "
                f"{best.score:,.0f}, {100 * best.fit_ratio:.0f}% of samples fit)")
    run.sub = SubSpace(**state["subspace"])


def _supernet_phase(run: _Run) -> None:
    """2. Train the weight-sharing supernet of the sub-space (or load its checkpointed weights)."""
    from .schedule import cosine_decay
    from .supernet import LEARNING_RATE, SuperNet, step_archs

    cfg, state, clock, ds, sub = run.cfg, run.state, run.clock, run.ds, run.sub
    net = SuperNet(run.space, sub.width, sub.resolution, cfg.seed)
    net.compile(distill=cfg.supernet_loss == "distill")
    weights = run.ckpt.weights()
    if weights is not None:
        net.load_state(weights)
    run.net = net
    run.x_train = x_train = ds.at(ds.x_train, sub.resolution)
    if state["phase"] != "supernet":
        return
    step = state.get("step", 0)
    begin = state.setdefault("supernet_begin", clock.spent)   # the learning rate decays over the phase
    end = PHASE_END["supernet"] * clock.budget
    train_rng = np.random.default_rng([cfg.seed, 1, step])
    bar = _bar(0, "supernet steps")
    last_save = time.monotonic()
    while not clock.past("supernet"):
        run.check()
        idx = train_rng.integers(0, len(x_train), cfg.batch)
        xb = x_train[idx]
        if ds.flip:
            flip_half(xb, train_rng)
        archs = step_archs(run.space, sub.width, sub.resolution, cfg.sampling, run.limits.max_macs, train_rng)
        # time, not steps: the weights the search scores with have settled at a low rate
        lr = cosine_decay((clock.spent - begin) / max(end - begin, 1.0), LEARNING_RATE)
        loss = net.train_step(xb, ds.y_train[idx], archs, lr)
        step += 1
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.4f}")
        if time.monotonic() - last_save > 60:
            state["step"] = step
            run.save(net.state())
            last_save = time.monotonic()
    if bar:
        bar.close()
    state["step"] = step
    state["phase"] = "search"
    run.save(net.state())
    run.log(f"supernet: {step} steps of {cfg.batch} ({cfg.sampling}: {SAMPLINGS[cfg.sampling]}; "
            f"{cfg.supernet_loss}: {SUPERNET_LOSSES[cfg.supernet_loss]}; learning rate {LEARNING_RATE:g} "
            "with cosine decay)")


def _search_phase(run: _Run) -> None:
    """3. Evolutionary search, every candidate scored by the supernet (through the executor)."""
    cfg, state, sub = run.cfg, run.state, run.sub
    run.calib = calibration_batches(run.x_train)
    run.scorer_spec = ScorerSpec(cfg.dataset, cfg.seed, cfg.train_limit, sub.width, sub.resolution,
                                 str(run.ckpt.folder / "supernet.npz"))
    if state["phase"] == "search":
        spec = run.scorer_spec.to_json()

        def fitness(archs: list[Arch]) -> list[float]:
            run.check()
            scores = run.executor.map_with(load_scorer, spec, score, [a.to_json() for a in archs])
            run.check()
            return scores

        history = [_evaluated_from(d) for d in state.get("history", [])]
        start = max((e.generation for e in history), default=-1) + 1
        bar = _bar(cfg.generations, "generations")

        def on_generation(gen: int, hist: list[Evaluated]) -> None:
            state["history"] = [_evaluated_json(e) for e in hist]
            run.save()
            if bar:
                bar.update(1)
            best = best_of(hist)
            run.log(f"  generation {gen}: best val accuracy {best.accuracy:.4f} ({best.cost.sram_bytes:,} B arena)")

        history = evolve(run.space, sub, run.limits, fitness, run.executor, run.rng, cfg.population,
                         cfg.generations, cfg.parents, history, start, on_generation,
                         lambda: run.clock.past("search"))
        if bar:
            bar.close()
        if not history:
            raise TinyMLError("the search found no architecture within the limits")
        state["history"] = [_evaluated_json(e) for e in history]
        state["phase"] = "finish"
        run.save()
    run.history = [_evaluated_from(d) for d in state["history"]]


def _choice_phase(run: _Run) -> None:
    """The final ranking (the best candidates rescored on the whole validation split), optionally
    the fine-tuning trials of the best few, and the choice."""
    cfg, state, log = run.cfg, run.state, run.log
    by_key = {e.arch.key: e for e in run.history}
    if "finalists" not in state:
        finalists = top_distinct(run.history, FINALISTS)
        log(f"final ranking: the {len(finalists)} best candidates rescored on all {len(run.ds.y_val):,} "
            "validation images")
        run.check()
        full = run.executor.map_with(load_scorer, replace(run.scorer_spec, val_images=None).to_json(), score,
                                     [e.arch.to_json() for e in finalists])
        run.check()
        state["finalists"] = [{"key": e.arch.key, "search_accuracy": e.accuracy, "val_accuracy": a,
                               "macs": e.cost.macs} for e, a in zip(finalists, full)]
        state["final_val_images"] = len(run.ds.y_val)
        run.save()
    finals = state["finalists"]
    pick = within_noise([f["val_accuracy"] for f in finals], [f["macs"] for f in finals],
                        state["final_val_images"])
    for i, f in enumerate(finals):
        log(f"  {'*' if i == pick else ' '} {f['key']}: search {f['search_accuracy']:.4f}, all validation "
            f"{f['val_accuracy']:.4f}, {f['macs']:,} MACs")
    chosen = by_key[finals[pick]["key"]]
    if cfg.finetune_trials > 1:
        chosen = _fine_tune_trials(run, finals, by_key)
    run.ranking_note = ranking_note(state.get("step", 0), [f["val_accuracy"] for f in finals],
                                    run.ds.num_classes, state["final_val_images"], cfg.finetune_trials > 1,
                                    cfg.budget_minutes)
    if run.ranking_note:
        log(f"note: {run.ranking_note}")
    log(f"chosen: {chosen.arch.key} (supernet val accuracy {chosen.accuracy:.4f}, arena "
        f"{chosen.cost.sram_bytes:,} B, flash {chosen.cost.flash_bytes:,} B, {chosen.cost.macs:,} MACs)")
    run.chosen = chosen


def _fine_tune_trials(run: _Run, finals: list[dict], by_key: dict[str, Evaluated]) -> Evaluated:
    """--finetune-trials K: the K best finalists trained one epoch each; the best on validation."""
    cfg, state = run.cfg, run.state
    if "trials" not in state:
        finalists = [by_key[f["key"]] for f in sorted(finals, key=lambda f: -f["val_accuracy"])]
        finalists = finalists[:cfg.finetune_trials]
        run.log(f"fine-tuning trials: {len(finalists)} finalists, 1 epoch on up to {TRIAL_IMAGES:,} "
                f"training images each ({cfg.backend})")
        jobs = [json.dumps({"arch": e.arch.to_json(), "seed": cfg.seed, "batch": cfg.batch,
                            "init": cfg.final_init}) for e in finalists]
        run.check()
        scores = run.executor.map_with(load_scorer, run.scorer_spec.to_json(), trial, jobs)
        run.check()
        state["trials"] = [{"key": e.arch.key, "supernet_accuracy": e.accuracy, "trial_accuracy": a}
                           for e, a in zip(finalists, scores)]
        run.save()
    for t in state["trials"]:
        run.log(f"  trial {t['key']}: supernet {t['supernet_accuracy']:.4f}, after 1 epoch "
                f"{t['trial_accuracy']:.4f}")
    best_key = max(state["trials"], key=lambda t: t["trial_accuracy"])["key"]
    return next(e for e in run.history if e.arch.key == best_key)


def _finish_phase(run: _Run) -> None:
    """4. Train the chosen model, quantize, compile, verify and measure it (tinynas.finish)."""
    from .finish import finish

    result = finish(run.cfg, run.ds, run.net, run.chosen, run.calib, run.clock, run.limits,
                    PHASE_END["finetune"], run.log, run.check)
    result["ranking_note"] = run.ranking_note
    run.state["phase"] = "done"
    run.state["result"] = run.result = result
    run.save()


# Run in this order on every start; each phase skips its work when the checkpoint is past it and
# only restores what the later phases need.
PHASES = (_space_phase, _supernet_phase, _search_phase, _choice_phase, _finish_phase)


def _run_nas(cfg: NasConfig, log, check) -> dict:
    run = _start(cfg, log, check)
    try:
        for phase in PHASES:
            phase(run)
    except KeyboardInterrupt:
        run.save(run.net.state() if run.state.get("phase") == "supernet" and run.net is not None else None)
        run.executor.close()
        raise NasInterrupted(f"interrupted; the search is checkpointed in {run.ckpt.folder}: run the same command "
                             "to resume") from None
    run.executor.close()
    from .report import write_outputs

    write_outputs(cfg, run.state, run.history, run.chosen, run.result)
    if run.ranking_note:
        log(f"note: {run.ranking_note}")
    return run.result
