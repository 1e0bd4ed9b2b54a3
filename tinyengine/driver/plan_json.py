"""plan.json: the memory plan of a compiled model (every buffer with its offset and
lifetime, the allowed overlaps, totals and the schedule), for tools and reviewers."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..core.ir import Graph
from ..core.layers import Layer
from ..core.planner import Plan


def plan_json(plan: Plan, graph: Graph, layers: list[Layer], schedule: dict | None = None) -> str:
    """`schedule`: the schedule section (Compiled.schedule_json()), omitted when None."""
    tensors = []
    for b in sorted(plan.buffers, key=lambda b: (b.first, b.offset)):
        entry = asdict(b)
        entry["aliases"] = sorted(t for t, r in plan.alias.items() if r == b.tensor and t != r)
        tensors.append(entry)
    doc = {
        "model": graph.name,
        "totals": {
            "arena_bytes": plan.arena_bytes,
            "scratch_bytes": plan.scratch_bytes,
            "state_bytes": plan.state_bytes,
            "peak_sram_bytes": plan.peak_sram_bytes,
            "flash_bytes": plan.flash_bytes,
            "lower_bound_bytes": plan.lower_bound_bytes,
            "gap_to_lower_bound": round(plan.gap_to_lower_bound, 4),
            "placement": plan.placement,
            "peak_layer": plan.peak_step,
            "macs": sum(layer.macs for layer in layers),
        },
        "notes": {
            "arena_bytes": "one static arena holding every activation tensor and kernel scratch buffer",
            "state_bytes": "variable tensors kept from one call to the next (an LSTM's state), outside the arena",
            "peak_sram_bytes": "arena_bytes + state_bytes (the planned data memory of the network; excludes stack)",
            "flash_bytes": "constant data in flash: weights, biases, requantization tables, layer parameters",
            "lower_bound_bytes": "largest sum of buffers live at the same step, less what in-place pairs may "
                                 "share (no placement can use less)",
            "shared": "pairs of buffers allowed to overlap while both are live: 'buffer' may start at most "
                      "'max_start_after' bytes after 'over' (pointwise convs, a patched stage's output)",
        },
        "layers": [
            {"index": layer.index, "op": layer.op, "name": layer.name, "kernel": layer.kernel,
             "variant": layer.variant, "inputs": list(layer.inputs), "outputs": list(layer.outputs),
             "scratch_bytes": layer.scratch_bytes, "macs": layer.macs,
             **({"folded": list(layer.folded)} if layer.folded else {})}
            for layer in layers
        ],
        "tensors": tensors,
        "shared": [{"buffer": a, "over": b, "max_start_after": d} for (a, b), d in plan.shared.items()],
    }
    if schedule is not None:
        doc["schedule"] = schedule
    return json.dumps(doc, indent=2)
