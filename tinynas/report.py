"""OUT/search.json, OUT/report.md and the plots of a `tinyml nas` run."""

from __future__ import annotations

import json

import numpy as np

from .budget import MIN_EPOCHS
from .cost import CODE_BYTES
from .options import FINAL_INITS, SAMPLINGS, SUPERNET_LOSSES
from .search import Evaluated, SubSpace


def plot_cdfs(subspaces: list[SubSpace], chosen: SubSpace, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for s in subspaces:
        if not s.fitting_macs:
            continue
        macs = np.sort(np.array(s.fitting_macs)) / 1e6
        frac = np.arange(1, len(macs) + 1) / s.samples
        is_chosen = (s.width, s.resolution) == (chosen.width, chosen.resolution)
        ax.step(macs, frac, where="post", linewidth=2.5 if is_chosen else 1,
                label=f"w{s.width:g} r{s.resolution}" + (" (chosen)" if is_chosen else ""))
    ax.set_xlabel("MMACs of the sampled models that fit")
    ax.set_ylabel("fraction of samples (cumulative)")
    ax.set_title("MACs CDF per sub-space (search-space optimisation)")
    ax.legend(fontsize=6, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy(history: list[Evaluated], chosen: Evaluated, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter([e.cost.sram_bytes / 1024 for e in history], [e.accuracy for e in history], s=14,
               c=[e.generation for e in history], cmap="viridis", label="evaluated (colour: generation)")
    ax.scatter([chosen.cost.sram_bytes / 1024], [chosen.accuracy], s=120, marker="*", color="red", label="chosen")
    ax.set_xlabel("peak SRAM, planned arena (KiB)")
    ax.set_ylabel("supernet validation accuracy (inherited weights)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(cfg, state: dict, history: list[Evaluated], chosen: Evaluated, result: dict) -> None:
    subspaces = [SubSpace(**s) for s in state["subspaces"]]
    sub = SubSpace(**state["subspace"])
    plot_cdfs(subspaces, sub, cfg.out / "flops_cdf.png")
    plot_accuracy(history, chosen, cfg.out / "accuracy_vs_sram.png")
    doc = {
        "dataset": cfg.dataset, "limits": {"arena_bytes": cfg.limits.sram_bytes, "flash_bytes": cfg.limits.flash_bytes,
                                           "sram_total": cfg.sram_total, "flash_total": cfg.flash_total,
                                           "max_macs": state.get("max_macs"),
                                           "max_macs_source": state.get("max_macs_source")},
        "training_throughput": state.get("throughput"),
        "board": cfg.board, "budget_minutes": cfg.budget_minutes, "seed": cfg.seed, "backend": cfg.backend,
        "subspaces": [{"width": s.width, "resolution": s.resolution, "samples": s.samples,
                       "fit_ratio": s.fit_ratio, "median_fitting_macs": s.score, "fitting_macs": s.fitting_macs}
                      for s in subspaces],
        "chosen_subspace": {"width": sub.width, "resolution": sub.resolution},
        "supernet_steps": state.get("step", 0), "supernet_sampling": cfg.sampling,
        "supernet_loss": cfg.supernet_loss, "final_init": cfg.final_init,
        "final_ranking": {"validation_images": state.get("final_val_images"), "finalists": state.get("finalists", []),
                          "rule": "the most MACs among the finalists within one standard error of the best"},
        "finetune_trials": state.get("trials", []),
        "evaluated": [{"key": e.arch.key, "generation": e.generation, "accuracy": e.accuracy,
                       "arena_bytes": e.cost.sram_bytes, "flash_bytes": e.cost.flash_bytes, "macs": e.cost.macs,
                       "patch": e.cost.patch} for e in history],
        "chosen": {"arch": json.loads(chosen.arch.to_json()), "key": chosen.arch.key},
        "result": result,
    }
    (cfg.out / "search.json").write_text(json.dumps(doc, indent=2))
    note = result.get("ranking_note")   # the supernet's ranking said nothing (nas.ranking_note)
    lines = [
        f"# TinyNAS: {cfg.dataset}", "",
        *([f"> **Note:** {note}.", ""] if note else []),
        f"- limits: arena <= {cfg.limits.sram_bytes:,} B, flash <= {cfg.limits.flash_bytes:,} B (a candidate's "
        f"constants plus {CODE_BYTES:,} B for code)"
        + (f" (board {cfg.board})" if cfg.board else "")
        + (f"; MACs <= {state['max_macs']:,} ({state.get('max_macs_source')})" if state.get("max_macs") else ""),
        *([f"- training speed measured for the MAC limit: {state['throughput']['images_per_second']:,.0f} images/s "
           f"at {state['throughput']['macs']:,} MACs; the limit is what the final training's share of the budget "
           f"trains for {MIN_EPOCHS} epochs"] if state.get("max_macs_source") == "budget" else []),
        f"- budget: {cfg.budget_minutes:g} min, used {result['seconds'] / 60:.1f} min; seed {cfg.seed}; "
        f"backend {cfg.backend}",
        f"- sub-space chosen: width {sub.width:g}, resolution {sub.resolution} (of {len(subspaces)}; "
        "see flops_cdf.png)",
        f"- supernet: {state.get('step', 0)} steps, each training {SAMPLINGS[cfg.sampling]} ({cfg.sampling}); "
        f"{SUPERNET_LOSSES[cfg.supernet_loss]} ({cfg.supernet_loss}); "
        f"evaluated {len(history)} candidates "
        "(accuracy_vs_sram.png)",
        *(["- fine-tuning trials (1 epoch each, validation accuracy): "
           + ", ".join(f"`{t['key']}` {t['trial_accuracy']:.4f}" for t in state["trials"])]
          if state.get("trials") else []),
        f"- chosen architecture: `{chosen.arch.key}`",
        f"- supernet validation accuracy {result['supernet_val_accuracy']:.4f}; trained {result['finetune_epochs']} "
        f"epochs from {FINAL_INITS[cfg.final_init]}: float test accuracy {result['float_test_accuracy']:.4f}",
        f"- **int8 test accuracy: generated C {result['int8_test_accuracy_c']:.4f}, TF-Lite Micro "
        f"{result['int8_test_accuracy_tflm']:.4f}** on {result['test_images']:,} images (must be equal)",
        f"- deployed: arena {result['arena_bytes']:,} B (patches {result['patch']}), constants in flash "
        f"{result['flash_bytes']:,} B (weights, biases, requantization tables, layer parameters; code not "
        f"counted), {result['macs']:,} MACs"
        + (f", {result['instructions']:,} instructions/inference on {cfg.board}" if result["instructions"] else ""),
        "", "Verification:", "", *[f"- {v}" for v in result["verified"]], "",
        "## Sub-spaces", "", "| width | resolution | fit | median MACs of fitting |", "|---:|---:|---:|---:|",
        *[f"| {s.width:g} | {s.resolution} | {100 * s.fit_ratio:.0f}% | {s.score:,.0f} |" for s in subspaces],
        "", "## Final ranking", "",
        *(["**The supernet could not rank the candidates (see the note at the top): the scores below are noise, "
           "not a search result.**", ""] if note else []),
        f"The {len(state.get('finalists', []))} best candidates of the search, rescored with the supernet on all "
        f"{state.get('final_val_images') or 0:,} validation images. Kept: the one with the most MACs among those "
        "within one standard error of the best, as smaller differences are noise of the validation sample"
        + ("; then the fine-tuning trials chose among the best." if state.get("trials") else "."), "",
        "| candidate | search score | all validation images | MACs | kept |", "|---|---:|---:|---:|---|",
        *[f"| `{f['key'].replace('|', '/')}` | {f['search_accuracy']:.4f} | {f['val_accuracy']:.4f} | {f['macs']:,} | "
          f"{'yes' if f['key'] == chosen.arch.key else ''} |" for f in state.get("finalists", [])],
        "", "## Chosen architecture", "",
        "| stage | channels | stride | blocks (kernel, expand) |", "|---|---:|---:|---|",
        *[f"| {i} | {st.channels} | {st.stride} | {', '.join(f'k{b.kernel} e{b.expand}' for b in st.blocks)} |"
          for i, st in enumerate(chosen.arch.stages)],
        "", "![MACs CDF](flops_cdf.png)", "", "![accuracy vs SRAM](accuracy_vs_sram.png)", "",
    ]
    (cfg.out / "report.md").write_text("\n".join(lines))
