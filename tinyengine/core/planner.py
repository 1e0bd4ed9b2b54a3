"""Memory planner: exact lifetimes, then the best of several placements in one arena.

Every activation tensor and every kernel scratch buffer becomes a `Buffer` with a
lifetime [first, last] in layer steps (graph inputs are live from step -1, graph
outputs until the end). Views (RESHAPE / SQUEEZE / EXPAND_DIMS) and layers that
run in place (tinyengine.core.inplace) share their input's buffer. Placement tries
first-fit and best-fit over five orderings plus a two-ended (ping-pong) placement
and keeps the smallest arena; the plan records which won and the gap to the
liveness lower bound (the most bytes that must be live at one step)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass

from .ir import Graph
from .layers import Layer
from .patch import PatchStage

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
    # (a, b) -> d: buffer a may overlap buffer b while both are live if a starts at most d bytes after b
    # (a patched stage's output over its input, see tinyengine.core.patch)
    shared: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

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

    def buffer_offset(self, key: str) -> int:
        for b in self.buffers:
            if b.key == key:
                return b.offset
        raise KeyError(key)

    def scratch_offset(self, layer: int) -> int:
        for b in self.buffers:
            if b.key == f"scratch{layer}":
                return b.offset
        raise KeyError(layer)

    def to_json(self, graph: Graph, layers: list[Layer], schedule: dict | None = None) -> str:
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
                "lower_bound_bytes": "largest sum of buffers live at the same step, less what in-place pairs may "
                                     "share (no placement can use less)",
                "shared": "pairs of buffers allowed to overlap while both are live: 'buffer' may start at most "
                          "'max_start_after' bytes after 'over' (pointwise convs, a patched stage's output)",
            },
            "layers": [
                {"index": layer.index, "op": layer.op, "name": layer.name, "kernel": layer.kernel,
                 "inputs": list(layer.inputs), "outputs": list(layer.outputs),
                 "scratch_bytes": layer.scratch_bytes, "macs": layer.macs}
                for layer in layers
            ],
            "tensors": tensors,
            "shared": [{"buffer": a, "over": b, "max_start_after": d} for (a, b), d in self.shared.items()],
        }
        if schedule is not None:
            doc["schedule"] = schedule
        return json.dumps(doc, indent=2)


def live_bytes(buffers: tuple[Buffer, ...] | list[Buffer], shared: dict[tuple[str, str], int], step: int) -> int:
    """Bytes that must be live while `step` runs: every live buffer, less what a live
    `shared` pair may legally share."""
    by_key = {b.key: b for b in buffers}
    live = sum(b.size for b in buffers if b.first <= step <= b.last)
    for (a, b), delta in shared.items():
        if by_key[a].first <= step <= by_key[a].last and by_key[b].first <= step <= by_key[b].last:
            live -= max(0, min(by_key[b].size - delta, by_key[a].size))
    return live


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def plan_memory(graph: Graph, layers: list[Layer], param_bytes: int = 0, stage: PatchStage | None = None,
                quick: bool = False) -> Plan:
    """Plan every buffer (`quick`: fewer placement strategies, for comparing many candidates).
    With a patched `stage`, its internal tensors get patch-sized
    buffers, its full inputs stay live until the stage ends, its full output is live from
    the stage's start (patches fill it), and gather/scatter buffers are added where patches
    are not whole rows."""
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

    size = {t: graph.tensors[t].nbytes for t in first}
    for t, r in alias.items():
        if r in size:
            size[r] = max(size[r], graph.tensors[t].nbytes)
    if stage is not None:
        start, end = stage.layers[0], stage.split
        for t in stage.internal:
            size[t] = stage.buffer_bytes(graph, t)
        for t in stage.inputs:
            r = alias.get(t, t)
            if r in last:
                last[r] = max(last[r], end)
        out = alias.get(stage.output, stage.output)
        first[out] = min(first[out], start)
    buffers = [Buffer(f"t{t}", t, graph.tensors[t].name, size[t], first[t], last[t]) for t in sorted(first)]
    if stage is not None:
        for t in stage.inputs:
            if stage.needs_copy(graph, t):
                users = [i for i in stage.layers if t in layers[i].inputs]
                buffers.append(Buffer(f"gather{t}", None, f"patch copy of '{graph.tensors[t].name}'",
                                      stage.buffer_bytes(graph, t), users[0], users[-1]))
        if stage.needs_copy(graph, stage.output):
            buffers.append(Buffer(f"scatter{stage.output}", None, f"patch of '{graph.tensors[stage.output].name}'",
                                  stage.buffer_bytes(graph, stage.output), stage.split, stage.split))
    buffers += [Buffer(f"scratch{layer.index}", None, f"scratch of {layer.op} #{layer.index}",
                       layer.scratch_bytes, layer.index, layer.index)
                for layer in layers if layer.scratch_bytes > 0]
    shared: dict[tuple[str, str], int] = {}
    for layer in layers:
        if layer.overlaps is not None:
            src, delta = layer.overlaps
            out = layer.outputs[0]
            shared[(f"t{alias.get(out, out)}", f"t{alias.get(src, src)}")] = delta
    if stage is not None and stage.output_over_input is not None:
        t_in = alias.get(stage.inputs[0], stage.inputs[0])
        shared[(f"t{alias.get(stage.output, stage.output)}", f"t{t_in}")] = stage.output_over_input
    placed, strategy = best_placement(buffers, shared, QUICK_ORDERINGS if quick else tuple(ORDERINGS))
    arena = max((b.offset + b.size for b in placed), default=0)
    lower, peak_step = 0, 0
    for step in range(-1, n + 1):
        live = live_bytes(placed, shared, step)
        if live > lower:
            lower, peak_step = live, step
    flash = param_bytes + sum(c.nbytes for layer in layers for c in layer.consts)
    return Plan(tuple(placed), alias, _align(arena), sum(layer.scratch_bytes for layer in layers), flash,
                lower, peak_step, strategy, shared)


# Orderings tried by the placer; the smallest arena wins (ties: the earlier one).
ORDERINGS: dict[str, object] = {
    "size": lambda b: (-b.size, b.first, b.key),
    "first-use": lambda b: (b.first, -b.size, b.key),
    "lifetime": lambda b: (-(b.last - b.first), -b.size, b.key),
    "area": lambda b: (-(b.size * (b.last - b.first + 1)), b.key),
    "last-use": lambda b: (-b.last, -b.size, b.key),
}


QUICK_ORDERINGS = ("size", "lifetime")


def best_placement(buffers: list[Buffer], shared: dict[tuple[str, str], int] | None = None,
                   orderings: tuple[str, ...] = tuple(ORDERINGS)) -> tuple[list[Buffer], str]:
    """First-fit and best-fit over several orderings, and a two-ended placement that
    ping-pongs consecutive tensors of a chain between the bottom and the top of the
    arena; keep the smallest arena. `shared` pairs may overlap as Plan.shared says."""
    shared = shared or {}
    best: tuple[int, list[Buffer], str] | None = None
    candidates = []
    for name in orderings:
        ordered = sorted(buffers, key=ORDERINGS[name])
        candidates.append((f"first-fit/{name}", _fit(ordered, shared, best_fit=False)))
        candidates.append((f"best-fit/{name}", _fit(ordered, shared, best_fit=True)))
        if shared:
            candidates.append((f"partner-first/{name}", _fit(ordered, shared, best_fit=False, partner_first=True)))
    lower = max((_live_bytes(buffers, s) for s in {b.first for b in buffers}), default=0)
    two_ended = _two_ended(buffers, shared, lower)
    if two_ended is not None:
        candidates.append(("two-ended", two_ended))
    for name, placed in candidates:
        arena = max((b.offset + b.size for b in placed), default=0)
        if best is None or arena < best[0]:
            best = (arena, placed, name)
    return best[1], best[2]


def _live_bytes(buffers: list[Buffer], step: int) -> int:
    return sum(_align(b.size) for b in buffers if b.first <= step <= b.last)


def _forbidden(b: Buffer, placed: list[Buffer], shared: dict[tuple[str, str], int]) -> list[tuple[int, int]]:
    """Open intervals (lo, hi) of offsets where b would collide with a placed buffer live at the same time."""
    out = []
    for p in placed:
        if not p.overlaps_in_time(b) or p.size == 0 or b.size == 0:
            continue
        lo, hi = p.offset - b.size, p.offset + p.size
        if (b.key, p.key) in shared:       # b may start up to d bytes after p
            lo = max(lo, p.offset + shared[(b.key, p.key)])
        elif (p.key, b.key) in shared:     # p may start up to d bytes after b
            hi = min(hi, p.offset - shared[(p.key, b.key)])
        if lo < hi - 1:
            out.append((lo, hi))
    return out


def _ok(offset: int, forbidden: list[tuple[int, int]]) -> bool:
    return all(not (lo < offset < hi) for lo, hi in forbidden)


def _fit_offsets(forbidden: list[tuple[int, int]]) -> list[int]:
    """Candidate offsets: 0 and the first aligned offset after each forbidden interval."""
    return sorted({0, *(_align(hi) for _, hi in forbidden if hi > 0)})


def _room(offset: int, size: int, forbidden: list[tuple[int, int]]) -> int:
    """Free bytes from `offset` up to the next buffer above it (huge when nothing is above)."""
    above = [lo + size for lo, _ in forbidden if lo + size >= offset + size]
    return min(above) - offset if above else 1 << 40


def _partner_offsets(b: Buffer, placed: list[Buffer], shared: dict[tuple[str, str], int]) -> list[int]:
    """Offsets that overlap an already placed `shared` partner as much as allowed."""
    out = []
    for p in placed:
        if (b.key, p.key) in shared:
            out.append(p.offset + shared[(b.key, p.key)])
        elif (p.key, b.key) in shared:
            out.append(p.offset - shared[(p.key, b.key)])
    return [o // ALIGN * ALIGN if o >= 0 else -1 for o in out]


def _fit(ordered: list[Buffer], shared: dict[tuple[str, str], int], best_fit: bool,
         partner_first: bool = False) -> list[Buffer]:
    placed: list[Buffer] = []
    for b in ordered:
        forbidden = _forbidden(b, placed, shared)
        partners = [o for o in _partner_offsets(b, placed, shared) if o >= 0 and _ok(o, forbidden)]
        options = sorted({*partners, *(o for o in _fit_offsets(forbidden) if _ok(o, forbidden))})
        if partner_first and partners:
            start = partners[0]
        elif best_fit:   # the offset whose free space above is tightest
            start = min(options, key=lambda o: (_room(o, b.size, forbidden), o))
        else:
            start = options[0]
        placed.append(dataclasses.replace(b, offset=start))
    return placed


def _two_ended(buffers: list[Buffer], shared: dict[tuple[str, str], int], limit: int) -> list[Buffer] | None:
    """Place in order of first use, alternating between the lowest and the highest allowed
    offset under `limit` (grown by 1/16 per retry); None if it does not fit in 2x the bound."""
    limit = _align(limit)
    ordered = sorted(buffers, key=lambda b: (b.first, -b.size, b.key))
    for _ in range(17):
        placed: list[Buffer] = []
        top = False
        for b in ordered:
            forbidden = _forbidden(b, placed, shared)
            ceiling = (limit - b.size) // ALIGN * ALIGN
            if top:
                highs = sorted({ceiling, *((lo + 1) // ALIGN * ALIGN for lo, _ in forbidden)}, reverse=True)
                options = [o for o in highs if 0 <= o <= ceiling and _ok(o, forbidden)]
            else:
                options = [o for o in _fit_offsets(forbidden) if o <= ceiling and _ok(o, forbidden)]
            if not options:
                break
            placed.append(dataclasses.replace(b, offset=options[0]))
            top = not top
        else:
            return placed
        limit = _align(limit + max(limit // 16, ALIGN))
    return None


def check_no_overlap(plan: Plan) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and overlap in the arena (must be empty),
    except a `shared` pair placed within its allowance."""
    bad = [(b.key, "outside the arena") for b in plan.buffers
           if b.size and (b.offset < 0 or b.offset + b.size > plan.arena_bytes)]
    bs = plan.buffers
    for i, a in enumerate(bs):
        for b in bs[i + 1:]:
            if a.size and b.size and a.overlaps_in_time(b) and a.overlaps_in_space(b):
                if (a.key, b.key) in plan.shared and a.offset <= b.offset + plan.shared[(a.key, b.key)]:
                    continue
                if (b.key, a.key) in plan.shared and b.offset <= a.offset + plan.shared[(b.key, a.key)]:
                    continue
                bad.append((a.key, b.key))
    return bad
