"""A Markdown report of a compiled model: layers, memory plan, flash."""

from __future__ import annotations

from pathlib import Path

from .ir import Graph
from .lower import Layer
from .planner import Plan


def _shape(graph: Graph, t: int) -> str:
    return "x".join(str(d) for d in graph.tensors[t].shape)


def render_report(graph: Graph, layers: list[Layer], plan: Plan, contract: str) -> str:
    lines = [
        f"# {graph.name}",
        "",
        f"- rounding contract: **{contract}**",
        f"- layers: {len(layers)}, MACs: {sum(layer.macs for layer in layers):,}",
        f"- peak SRAM (arena, activations + scratch): **{plan.arena_bytes:,} B**"
        f" (liveness lower bound {plan.lower_bound_bytes:,} B, reached at layer {plan.peak_step})",
        f"- kernel scratch: {plan.scratch_bytes:,} B",
        f"- flash (constant data): {plan.flash_bytes:,} B",
        "",
        "| # | op | output | shape | bytes | arena offset | MACs |",
        "|---|----|--------|-------|------:|-------------:|-----:|",
    ]
    for layer in layers:
        t = layer.outputs[0]
        view = " (view)" if layer.kernel is None else ""
        lines.append(f"| {layer.index} | {layer.op}{view} | `{layer.name}` | {_shape(graph, t)} | "
                     f"{graph.tensors[t].nbytes:,} | {plan.tensor_offset(t):,} | {layer.macs:,} |")
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
