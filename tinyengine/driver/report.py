"""A Markdown report of a compiled model: layers, memory plan, flash."""

from __future__ import annotations

from pathlib import Path

from ..core.ir import Graph
from ..core.layers import Layer
from ..core.planner import Plan, live_bytes


def _shape(graph: Graph, t: int) -> str:
    return "x".join(str(d) for d in graph.tensors[t].shape)


def live_buffers(plan: Plan, step: int) -> list:
    return sorted((b for b in plan.buffers if b.first <= step <= b.last and b.size), key=lambda b: b.offset)


def render_report(graph: Graph, layers: list[Layer], plan: Plan, contract: str, sched=None) -> str:
    """`sched` is the tinyengine.core.schedule.Schedule (patch stage, what --patch auto tried)."""
    stage = sched.stage if sched else None
    peak_layer = layers[min(max(plan.peak_step, 0), len(layers) - 1)] if layers else None
    inplace = [layer for layer in layers if layer.inplace_of is not None or layer.overlaps is not None]
    lines = [
        f"# {graph.name}",
        "",
        f"- rounding contract: **{contract}**",
        f"- layers: {len(layers)}, MACs: {sum(layer.macs for layer in layers):,}",
        f"- peak SRAM (arena, activations + scratch): **{plan.arena_bytes:,} B**",
        f"- liveness lower bound: {plan.lower_bound_bytes:,} B (the most bytes live at one step, at layer "
        f"{plan.peak_step}{f' {peak_layer.op}' if peak_layer else ''}); the plan is "
        f"{100 * plan.gap_to_lower_bound:.1f}% above it (placement: {plan.placement})",
        f"- kernel scratch: {plan.scratch_bytes:,} B",
        f"- flash (constant data): {plan.flash_bytes:,} B",
        f"- layers run in place or overlapping their input: {len(inplace)}"
        + (f" ({', '.join(f'L{layer.index} {layer.op}' for layer in inplace)})" if inplace else ""),
    ]
    if stage is not None:
        spec = stage.spec
        lines.append(f"- patch-based stage: layers {stage.layers[0]}-{stage.split} on a {spec.rows}x{spec.cols} grid "
                     f"(`--patch {spec}`), {len(stage.regions)} patches, {100 * stage.overhead:.1f}% extra MACs "
                     f"({stage.macs - stage.base_macs:,}); peak without patches {sched.unpatched_arena:,} B")
    elif sched is not None and sched.candidates:
        lines.append(f"- patch-based stage: none (`--patch auto` tried {len(sched.candidates)} splits and grids; "
                     f"none beat {sched.unpatched_arena:,} B within {100 * sched.max_overhead:.0f}% extra MACs)")
    lines += [
        "",
        "![memory timeline](memory.png)",
        "",
        "## Layers",
        "",
        "| # | op | kernel (variant) | output | shape | bytes | arena offset | MACs |",
        "|---|----|------------------|--------|-------|------:|-------------:|-----:|",
    ]
    in_stage = set(stage.layers[:-1]) if stage else set()
    for layer in layers:
        t = layer.outputs[0]
        notes = []
        if layer.kernel is None:
            notes.append("view")
        if layer.inplace_of is not None:
            notes.append("in place")
        if layer.overlaps is not None:
            notes.append("overlaps input")
        if layer.index in in_stage or (stage and layer.index == stage.split):
            notes.append("patched")
        notes += [f"folds {op}" for op in layer.folded]
        note = f" ({', '.join(notes)})" if notes else ""
        offset = "patch buffer" if layer.index in in_stage else f"{plan.tensor_offset(t):,}"
        kernel = f"`{layer.kernel}` ({layer.variant})" if layer.kernel else "none (view)"
        lines.append(f"| {layer.index} | {layer.op}{note} | {kernel} | `{layer.name}` | {_shape(graph, t)} | "
                     f"{graph.tensors[t].nbytes:,} | {offset} | {layer.macs:,} |")
    lines += ["", "## Memory at each step", "",
              "Buffers live while each layer runs, as key size@offset. Live bytes do not count twice what a "
              "layer's output may share with its dying input. Patched stages hold patch-sized buffers.",
              "", "| step | op | live bytes | live buffers |", "|---:|---|---:|---|"]
    for step in range(-1, len(layers)):
        live = live_buffers(plan, step)
        total = live_bytes(plan.buffers, plan.shared, step)
        op = "inputs" if step < 0 else layers[step].op
        mark = " **peak**" if step == plan.peak_step else ""
        desc = ", ".join(f"{b.key} {b.size:,}@{b.offset:,}" for b in live)
        lines.append(f"| {step} | {op}{mark} | {total:,} | {desc} |")
    lines.append("")
    return "\n".join(lines)


def update_report(model_dir: Path, key: str, section: str) -> None:
    """Add or replace one marked section (a firmware size table, a profile) at the end of report.md."""
    path = Path(model_dir) / "report.md"
    text = path.read_text() if path.exists() else ""
    begin, end = f"<!-- tinyml:{key} -->", f"<!-- /tinyml:{key} -->"
    block = f"{begin}\n{section.rstrip()}\n{end}\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)
