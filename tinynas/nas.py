"""`tinyml nas`: search, train and export the most accurate model that fits a board.

Phases (each checkpointed in OUT/checkpoint, so an interrupted run resumes):
  1. space     search-space optimisation over (width, resolution) sub-spaces
  2. supernet  train the weight-sharing supernet of the chosen sub-space (the largest and random
               sub-networks within the MAC limit, or the sandwich rule)
  3. search    evolutionary search; fitness = supernet accuracy on the validation split
               after batch-norm recalibration (through the executor: in process or Ray
               actors); the best 8 rescored on the whole validation split, and the one with
               the most MACs within one standard error of the best kept; optionally short
               fine-tuning trials of the best few finalists instead
  4. finish    train the winner (from scratch by default), quantize to int8, compile it with the
               engine (in place + patches), verify it bit-exactly, and measure the int8
               accuracy of the generated C on the whole test set
The time budget is split between phases (fractions below); every result goes to
OUT/search.json, OUT/report.md and plots."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from tinyengine.core.errors import TinyMLError, require_choice

from .cost import Cost
from .data import flip_half, load_dataset
from .executor import make_executor
from .fitness import TRIAL_IMAGES, ScorerSpec, calibration_batches, load_scorer, score, trial
from .interrupt import SafeInterrupt
from .search import Evaluated, Limits, SubSpace, best_of, evolve, optimise_space, top_distinct, within_noise
from .space import Arch, SearchSpace

# Where the budget goes (cumulative fractions of the whole budget at which a phase ends).
# Fine-tuning gets the largest share: on a CPU budget it decides the final accuracy, while the
# supernet only has to rank candidates. The last 5% are for export, verification and the
# test-set evaluation.
PHASE_END = {"space": 0.10, "supernet": 0.45, "search": 0.55, "finetune": 0.95}
FINALISTS = 8       # best distinct candidates rescored on the whole validation split before the choice
OTHER_SRAM = 1024   # .data/.bss besides the arena (measured ~150-400 B on the QEMU boards), rounded up


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
    backend: str = "in-process"
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
    sampling: str = "feasible"   # what each supernet step trains (supernet.SAMPLINGS)
    supernet_loss: str = "labels"   # what its sub-networks learn from (supernet.SUPERNET_LOSSES)
    final_init: str = "scratch"     # where the chosen model's training starts (finish.FINAL_INITS)

    @property
    def limits(self) -> Limits:
        """The memory limits, and the MAC limit the user gave (see `_limits` for the budget's own)."""
        return Limits(self.sram_total - self.stack_bytes - OTHER_SRAM, self.flash_total, self.max_macs)


class NasInterrupted(TinyMLError):
    """Ctrl-C during a search: the checkpoint is saved, the same command resumes."""


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


def run_nas(cfg: NasConfig, log=print) -> dict:
    """Run (or resume) a search. Ctrl-C stops it at the next safe point with its checkpoint saved
    and raises NasInterrupted."""
    with SafeInterrupt() as interrupt:
        return _run_nas(cfg, log, interrupt.check)


def _run_nas(cfg: NasConfig, log, check) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from .finish import FINAL_INITS
    from .supernet import SAMPLINGS, SUPERNET_LOSSES

    # before any work: a wrong name should not surface an hour into the run
    require_choice("supernet sampling", cfg.sampling, SAMPLINGS)
    require_choice("supernet loss", cfg.supernet_loss, SUPERNET_LOSSES)
    require_choice("final-training start", cfg.final_init, FINAL_INITS)
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

    def save(weights=None):
        state["spent"] = clock.spent
        ckpt.save(state, weights)

    try:
        # ---- 1. search-space optimisation ----
        if state["phase"] == "space":
            bar = _bar(len(space.widths) * len(space.resolutions), "sub-spaces")
            best, subs = optimise_space(space, limits, cfg.samples, np.random.default_rng(cfg.seed), executor,
                                        (lambda d, t: bar.update(1)) if bar else None)
            if bar:
                bar.close()
            if not best.fitting_macs and state.get("max_macs_source") == "budget":
                log("no sampled model is small enough to train for the planned epochs; searching without a "
                    "MAC limit")
                state["max_macs"], state["max_macs_source"] = None, "none (the budget's limit left no model)"
                limits = Limits(limits.sram_bytes, limits.flash_bytes, None)
                best, subs = optimise_space(space, limits, cfg.samples, np.random.default_rng(cfg.seed), executor)
            if not best.fitting_macs:
                raise TinyMLError(f"no sampled model fits (arena <= {limits.sram_bytes:,} B, flash <= "
                                  f"{limits.flash_bytes:,} B" + (f", MACs <= {limits.max_macs:,}" if limits.max_macs
                                                                 else "")
                                  + "); raise the limits, pick a bigger board or sample more (--samples)")
            state["subspaces"] = [asdict(s) for s in subs]
            state["subspace"] = asdict(best)
            state["phase"] = "supernet"
            save()
            log(f"sub-space: width {best.width:g}, resolution {best.resolution} (median fitting MACs "
                f"{best.score:,.0f}, {100 * best.fit_ratio:.0f}% of samples fit)")
        sub = SubSpace(**state["subspace"])
        from .schedule import cosine_decay
        from .supernet import LEARNING_RATE, SuperNet, step_archs

        net = SuperNet(space, sub.width, sub.resolution, cfg.seed)
        net.compile(distill=cfg.supernet_loss == "distill")
        weights = ckpt.weights()
        if weights is not None:
            net.load_state(weights)
        x_train = ds.at(ds.x_train, sub.resolution)

        # ---- 2. supernet training ----
        if state["phase"] == "supernet":
            step = state.get("step", 0)
            begin = state.setdefault("supernet_begin", clock.spent)   # the learning rate decays over the phase
            end = PHASE_END["supernet"] * clock.budget
            train_rng = np.random.default_rng([cfg.seed, 1, step])
            bar = _bar(0, "supernet steps")
            last_save = time.monotonic()
            while not clock.past("supernet"):
                check()
                idx = train_rng.integers(0, len(x_train), cfg.batch)
                xb = x_train[idx]
                if ds.flip:
                    flip_half(xb, train_rng)
                archs = step_archs(space, sub.width, sub.resolution, cfg.sampling, limits.max_macs, train_rng)
                # time, not steps: the weights the search scores with have settled at a low rate
                lr = cosine_decay((clock.spent - begin) / max(end - begin, 1.0), LEARNING_RATE)
                loss = net.train_step(xb, ds.y_train[idx], archs, lr)
                step += 1
                if bar:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.4f}")
                if time.monotonic() - last_save > 60:
                    state["step"] = step
                    save(net.state())
                    last_save = time.monotonic()
            if bar:
                bar.close()
            state["step"] = step
            state["phase"] = "search"
            save(net.state())
            log(f"supernet: {step} steps of {cfg.batch} ({cfg.sampling}: {SAMPLINGS[cfg.sampling]}; "
                f"{cfg.supernet_loss}: {SUPERNET_LOSSES[cfg.supernet_loss]}; learning rate {LEARNING_RATE:g} "
                "with cosine decay)")

        # ---- 3. evolutionary search ----
        calib = calibration_batches(x_train)
        scorer_spec = ScorerSpec(cfg.dataset, cfg.seed, cfg.train_limit, sub.width, sub.resolution,
                                 str(ckpt.folder / "supernet.npz"))
        spec = scorer_spec.to_json()

        def fitness(archs: list[Arch]) -> list[float]:
            check()
            scores = executor.map_with(load_scorer, spec, score, [a.to_json() for a in archs])
            check()
            return scores

        if state["phase"] == "search":
            history = [_evaluated_from(d) for d in state.get("history", [])]
            start = max((e.generation for e in history), default=-1) + 1
            bar = _bar(cfg.generations, "generations")

            def on_generation(gen: int, hist: list[Evaluated]) -> None:
                state["history"] = [_evaluated_json(e) for e in hist]
                save()
                if bar:
                    bar.update(1)
                best = best_of(hist)
                log(f"  generation {gen}: best val accuracy {best.accuracy:.4f} ({best.cost.sram_bytes:,} B arena)")

            history = evolve(space, sub, limits, fitness, executor, rng, cfg.population, cfg.generations,
                             cfg.parents, history, start, on_generation, lambda: clock.past("search"))
            if bar:
                bar.close()
            if not history:
                raise TinyMLError("the search found no architecture within the limits")
            state["history"] = [_evaluated_json(e) for e in history]
            state["phase"] = "finish"
            save()
        history = [_evaluated_from(d) for d in state["history"]]
        by_key = {e.arch.key: e for e in history}
        if "finalists" not in state:
            finalists = top_distinct(history, FINALISTS)
            log(f"final ranking: the {len(finalists)} best candidates rescored on all {len(ds.y_val):,} "
                "validation images")
            check()
            full = executor.map_with(load_scorer, replace(scorer_spec, val_images=None).to_json(), score,
                                     [e.arch.to_json() for e in finalists])
            check()
            state["finalists"] = [{"key": e.arch.key, "search_accuracy": e.accuracy, "val_accuracy": a,
                                   "macs": e.cost.macs} for e, a in zip(finalists, full)]
            state["final_val_images"] = len(ds.y_val)
            save()
        finals = state["finalists"]
        pick = within_noise([f["val_accuracy"] for f in finals], [f["macs"] for f in finals],
                            state["final_val_images"])
        for i, f in enumerate(finals):
            log(f"  {'*' if i == pick else ' '} {f['key']}: search {f['search_accuracy']:.4f}, all validation "
                f"{f['val_accuracy']:.4f}, {f['macs']:,} MACs")
        chosen = by_key[finals[pick]["key"]]
        if cfg.finetune_trials > 1:
            if "trials" not in state:
                finalists = [by_key[f["key"]] for f in sorted(finals, key=lambda f: -f["val_accuracy"])]
                finalists = finalists[:cfg.finetune_trials]
                log(f"fine-tuning trials: {len(finalists)} finalists, 1 epoch on up to {TRIAL_IMAGES:,} "
                    f"training images each ({cfg.backend})")
                jobs = [json.dumps({"arch": e.arch.to_json(), "seed": cfg.seed, "batch": cfg.batch,
                                    "init": cfg.final_init}) for e in finalists]
                check()
                scores = executor.map_with(load_scorer, spec, trial, jobs)
                check()
                state["trials"] = [{"key": e.arch.key, "supernet_accuracy": e.accuracy, "trial_accuracy": a}
                                   for e, a in zip(finalists, scores)]
                save()
            for t in state["trials"]:
                log(f"  trial {t['key']}: supernet {t['supernet_accuracy']:.4f}, after 1 epoch "
                    f"{t['trial_accuracy']:.4f}")
            best_key = max(state["trials"], key=lambda t: t["trial_accuracy"])["key"]
            chosen = next(e for e in history if e.arch.key == best_key)
        log(f"chosen: {chosen.arch.key} (supernet val accuracy {chosen.accuracy:.4f}, arena "
            f"{chosen.cost.sram_bytes:,} B, flash {chosen.cost.flash_bytes:,} B, {chosen.cost.macs:,} MACs)")

        # ---- 4. finish ----
        from .finish import finish

        result = finish(cfg, ds, net, chosen, calib, clock, limits, PHASE_END["finetune"], log, check)
        state["phase"] = "done"
        state["result"] = result
        save()
    except KeyboardInterrupt:
        save(net.state() if state.get("phase") == "supernet" and "net" in locals() else None)
        executor.close()
        raise NasInterrupted(f"interrupted; the search is checkpointed in {ckpt.folder}: run the same command "
                             "to resume") from None
    executor.close()
    from .report import write_outputs

    write_outputs(cfg, state, history, chosen, result)
    return result
