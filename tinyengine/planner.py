"""Memory planner (first version): exact lifetimes, first-fit placement in one arena.

Every activation tensor and every kernel scratch buffer becomes a `Buffer` with a
lifetime [first, last] in layer steps (graph inputs are live from step -1, graph
outputs until the end). Views (RESHAPE / SQUEEZE / EXPAND_DIMS) share their
input's buffer. Buffers are placed largest first at the lowest 4-byte-aligned
offset that overlaps no buffer with an intersecting lifetime."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .ir import Graph
from .lower import Layer

ALIGN = 4


@dataclass(frozen=True)
class Buffer:
    key: str            # "t<index>" for a tensor, "scratch<layer>" for scratch
    tensor: int | None  # root tensor index, None for scratch
    name: str
    size: int
    first: int
    last: int
    offset: int = 0

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps_in_space(self, other: Buffer) -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass(frozen=True)
class Plan:
    buffers: tuple[Buffer, ...]
    alias: dict[int, int]            # tensor -> root tensor whose memory it shares
    arena_bytes: int
    scratch_bytes: int
    flash_bytes: int
    lower_bound_bytes: int           # max over steps of the bytes that must be live at once
    peak_step: int                   # the layer at which the lower bound is reached

    @property
    def peak_sram_bytes(self) -> int:
        return self.arena_bytes

    def tensor_offset(self, tensor: int) -> int:
        root = self.alias.get(tensor, tensor)
        for b in self.buffers:
            if b.tensor == root:
                return b.offset
        raise KeyError(tensor)

    def scratch_offset(self, layer: int) -> int:
        for b in self.buffers:
            if b.key == f"scratch{layer}":
                return b.offset
        raise KeyError(layer)

    def to_json(self, graph: Graph, layers: list[Layer]) -> str:
        tensors = []
        for b in sorted(self.buffers, key=lambda b: (b.first, b.offset)):
            entry = asdict(b)
            entry["aliases"] = sorted(t for t, r in self.alias.items() if r == b.tensor and t != r)
            tensors.append(entry)
        doc = {
            "model": graph.name,
            "totals": {
                "arena_bytes": self.arena_bytes,
                "scratch_bytes": self.scratch_bytes,
                "peak_sram_bytes": self.peak_sram_bytes,
                "flash_bytes": self.flash_bytes,
                "lower_bound_bytes": self.lower_bound_bytes,
                "peak_layer": self.peak_step,
                "macs": sum(layer.macs for layer in layers),
            },
            "notes": {
                "arena_bytes": "one static arena holding every activation tensor and kernel scratch buffer",
                "peak_sram_bytes": "arena_bytes (the planned data memory of the network; excludes stack)",
                "flash_bytes": "constant data in flash: weights, biases, requantization tables, layer parameters",
                "lower_bound_bytes": "largest sum of tensors that must be live at the same time (no planner "
                                     "can use less without in-place execution or tiling)",
            },
            "layers": [
                {"index": layer.index, "op": layer.op, "name": layer.name, "kernel": layer.kernel,
                 "inputs": list(layer.inputs), "outputs": list(layer.outputs),
                 "scratch_bytes": layer.scratch_bytes, "macs": layer.macs}
                for layer in layers
            ],
            "tensors": tensors,
        }
        return json.dumps(doc, indent=2)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(graph: Graph, layers: list[Layer], param_bytes: int = 0) -> Plan:
    alias: dict[int, int] = {}
    for layer in layers:
        if layer.alias_of is not None:
            src = layer.alias_of
            root = alias.get(src, src)
            if graph.tensors[root].is_constant:
                root = src
            alias[layer.outputs[0]] = root
    n = len(layers)
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, step: int) -> None:
        root = alias.get(t, t)
        if graph.tensors[root].is_constant:
            return
        first[root] = min(first.get(root, step), step)
        last[root] = max(last.get(root, step), step)

    for t in graph.inputs:
        touch(t, -1)
    for layer in layers:
        for t in layer.outputs:
            touch(t, layer.index)
        for t in layer.inputs:
            touch(t, layer.index)
    for t in graph.outputs:
        touch(t, n)

    buffers = [Buffer(f"t{t}", t, graph.tensors[t].name, graph.tensors[t].nbytes, first[t], last[t])
               for t in sorted(first)]
    buffers += [Buffer(f"scratch{layer.index}", None, f"scratch of {layer.op} #{layer.index}",
                       layer.scratch_bytes, layer.index, layer.index)
                for layer in layers if layer.scratch_bytes > 0]
    placed = _first_fit(buffers)
    arena = max((b.offset + b.size for b in placed), default=0)
    lower, peak_step = 0, 0
    for step in range(-1, n + 1):
        live = sum(_align(b.size) for b in placed if b.first <= step <= b.last)
        if live > lower:
            lower, peak_step = live, step
    flash = param_bytes + sum(c.nbytes for layer in layers for c in layer.consts)
    return Plan(tuple(placed), alias, _align(arena), sum(layer.scratch_bytes for layer in layers), flash,
                lower, peak_step)


def _first_fit(buffers: list[Buffer]) -> list[Buffer]:
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first, b.key)):
        conflicts = sorted((p for p in placed if p.overlaps_in_time(b)), key=lambda p: p.offset)
        offset = 0
        for p in conflicts:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        placed.append(Buffer(b.key, b.tensor, b.name, b.size, b.first, b.last, offset))
    return placed


def check_no_overlap(plan: Plan) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and overlap in the arena (must be empty)."""
    bad = []
    bs = plan.buffers
    for i, a in enumerate(bs):
        for b in bs[i + 1:]:
            if a.size and b.size and a.overlaps_in_time(b) and a.overlaps_in_space(b):
                bad.append((a.key, b.key))
    return bad
