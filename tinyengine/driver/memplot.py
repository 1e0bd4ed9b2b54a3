"""memory.png: the arena over time, like TinyEngine's lifecycle plot. Top: every
buffer as a rectangle (x = the layers it is live for, y = its arena bytes).
Bottom: bytes live at each step against the arena size and the lower bound."""

from __future__ import annotations

from pathlib import Path

from ..core.layers import Layer
from ..core.planner import Plan, live_bytes

COLORS = {"t": "#4c72b0", "scratch": "#dd8452", "gather": "#55a868", "scatter": "#55a868"}


def plot_memory(plan: Plan, layers: list[Layer], path: Path, title: str, stage=None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n = len(layers)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(8, 0.35 * n + 3), 7), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.3]})
    internal = stage.internal if stage else frozenset()
    for b in plan.buffers:
        if not b.size:
            continue
        kind = next((k for k in ("scratch", "gather", "scatter") if b.key.startswith(k)), "t")
        color = "#8172b3" if b.tensor in internal else COLORS[kind]
        top.add_patch(Rectangle((b.first - 0.45, b.offset), b.last - b.first + 0.9, b.size, facecolor=color,
                                edgecolor="black", linewidth=0.4, alpha=0.8))
    top.axhline(plan.arena_bytes, color="red", linewidth=1)
    top.text(n + 0.5, plan.arena_bytes, f"arena {plan.arena_bytes:,} B", color="red", va="bottom", ha="right",
             fontsize=8)
    top.set_ylim(0, plan.arena_bytes * 1.08 + 1)
    top.set_ylabel("arena offset (bytes)")
    if stage is not None:
        for ax in (top, bottom):
            ax.axvspan(stage.layers[0] - 0.5, stage.split + 0.5, color="#ccb974", alpha=0.2)
        top.text(stage.layers[0] - 0.4, plan.arena_bytes * 1.02, f"patched {stage.spec.rows}x{stage.spec.cols}",
                 fontsize=8)
    legend = [Rectangle((0, 0), 1, 1, color=c) for c in ("#4c72b0", "#8172b3", "#dd8452", "#55a868")]
    top.legend(legend, ["tensor", "patch buffer", "kernel scratch", "patch gather/stitch"], fontsize=7,
               loc="upper center", ncol=4)
    top.set_title(title)
    steps = list(range(-1, n + 1))
    live = [live_bytes(plan.buffers, plan.shared, s) for s in steps]
    bottom.bar(steps, live, color="#4c72b0", width=0.8)
    bottom.axhline(plan.arena_bytes, color="red", linewidth=1, label="arena")
    bottom.axhline(plan.lower_bound_bytes, color="black", linestyle="--", linewidth=1, label="lower bound")
    bottom.axvline(plan.peak_step, color="grey", linestyle=":", linewidth=1)
    bottom.set_ylabel("live bytes")
    bottom.set_xlabel("layer (step); -1 = inputs, last = outputs")
    bottom.legend(fontsize=7, loc="upper right")
    bottom.set_xticks(range(0, n, max(1, n // 20)))
    top.set_xlim(-1.6, n + 0.6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
