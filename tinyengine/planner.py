"""Memory planner: exact lifetimes, then the best of several placements in one arena.

Every activation tensor and every kernel scratch buffer becomes a `Buffer` with a
lifetime [first, last] in layer steps (graph inputs are live from step -1, graph
outputs until the end). Views (RESHAPE / SQUEEZE / EXPAND_DIMS) and layers that
run in place (tinyengine.inplace) share their input's buffer. Placement tries
first-fit and best-fit over five orderings plus a two-ended (ping-pong) placement
and keeps the smallest arena; the plan records which won and the gap to the
liveness lower bound (the most bytes that must be live at one step)."""

from __future__ import annotations

import dataclasses
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
    placement: str = ""              # which placement strategy produced the offsets

    @property
    def gap_to_lower_bound(self) -> float:
        """(arena - lower bound) / lower bound."""
        return (self.arena_bytes - self.lower_bound_bytes) / max(self.lower_bound_bytes, 1)

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
                "gap_to_lower_bound": round(self.gap_to_lower_bound, 4),
                "placement": self.placement,
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
        src = layer.alias_of if layer.alias_of is not None else layer.inplace_of
        if src is not None:
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
    placed, strategy = best_placement(buffers)
    arena = max((b.offset + b.size for b in placed), default=0)
    lower, peak_step = 0, 0
    for step in range(-1, n + 1):
        live = sum(_align(b.size) for b in placed if b.first <= step <= b.last)
        if live > lower:
            lower, peak_step = live, step
    flash = param_bytes + sum(c.nbytes for layer in layers for c in layer.consts)
    return Plan(tuple(placed), alias, _align(arena), sum(layer.scratch_bytes for layer in layers), flash,
                lower, peak_step, strategy)


# Orderings tried by the placer; the smallest arena wins (ties: the earlier one).
ORDERINGS: dict[str, object] = {
    "size": lambda b: (-b.size, b.first, b.key),
    "first-use": lambda b: (b.first, -b.size, b.key),
    "lifetime": lambda b: (-(b.last - b.first), -b.size, b.key),
    "area": lambda b: (-(b.size * (b.last - b.first + 1)), b.key),
    "last-use": lambda b: (-b.last, -b.size, b.key),
}


def best_placement(buffers: list[Buffer]) -> tuple[list[Buffer], str]:
    """First-fit and best-fit over several orderings, and a two-ended placement that
    ping-pongs consecutive tensors of a chain between the bottom and the top of the
    arena; keep the smallest arena."""
    best: tuple[int, list[Buffer], str] | None = None
    candidates = []
    for name, key in ORDERINGS.items():
        ordered = sorted(buffers, key=key)
        candidates.append((f"first-fit/{name}", _fit(ordered, best_fit=False)))
        candidates.append((f"best-fit/{name}", _fit(ordered, best_fit=True)))
    lower = max((_live_bytes(buffers, s) for s in {b.first for b in buffers}), default=0)
    two_ended = _two_ended(buffers, lower)
    if two_ended is not None:
        candidates.append(("two-ended", two_ended))
    for name, placed in candidates:
        arena = max((b.offset + b.size for b in placed), default=0)
        if best is None or arena < best[0]:
            best = (arena, placed, name)
    return best[1], best[2]


def _live_bytes(buffers: list[Buffer], step: int) -> int:
    return sum(_align(b.size) for b in buffers if b.first <= step <= b.last)


def _gaps(conflicts: list[Buffer], limit: int) -> list[tuple[int, int]]:
    """Free [start, end) intervals below `limit` given the placed buffers that conflict in time."""
    gaps, pos = [], 0
    for p in sorted(conflicts, key=lambda p: p.offset):
        if p.offset > pos:
            gaps.append((pos, p.offset))
        pos = max(pos, _align(p.offset + p.size))
    gaps.append((pos, limit))
    return gaps


def _fit(ordered: list[Buffer], best_fit: bool) -> list[Buffer]:
    placed: list[Buffer] = []
    big = 1 << 40
    for b in ordered:
        gaps = [g for g in _gaps([p for p in placed if p.overlaps_in_time(b)], big) if g[1] - g[0] >= b.size]
        if best_fit:
            start = min(gaps, key=lambda g: (g[1] - g[0], g[0]))[0]
        else:
            start = gaps[0][0]
        placed.append(dataclasses.replace(b, offset=start))
    return placed


def _two_ended(buffers: list[Buffer], limit: int) -> list[Buffer] | None:
    """Place in order of first use, alternating between the lowest and the highest free
    offset under `limit` (grown by 1/16 per retry); None if it does not fit in 2x the bound."""
    limit = _align(limit)
    ordered = sorted(buffers, key=lambda b: (b.first, -b.size, b.key))
    for _ in range(17):
        placed: list[Buffer] = []
        top = False
        for b in ordered:
            gaps = [g for g in _gaps([p for p in placed if p.overlaps_in_time(b)], limit) if g[1] - g[0] >= b.size]
            if not gaps:
                break
            start = (gaps[-1][1] - b.size) // ALIGN * ALIGN if top else gaps[0][0]
            if start < (gaps[-1][0] if top else 0):
                start = gaps[0][0]
            placed.append(dataclasses.replace(b, offset=start))
            top = not top
        else:
            return placed
        limit = _align(limit + max(limit // 16, ALIGN))
    return None


def check_no_overlap(plan: Plan) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and overlap in the arena (must be empty)."""
    bad = []
    bs = plan.buffers
    for i, a in enumerate(bs):
        for b in bs[i + 1:]:
            if a.size and b.size and a.overlaps_in_time(b) and a.overlaps_in_space(b):
                bad.append((a.key, b.key))
    return bad
