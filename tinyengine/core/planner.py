"""Memory planner: the best of several placements of sized, timed buffers in one arena.

The interface is TF-Lite Micro's memory planner's, plus allowed overlaps: each request
is a `Buffer` with a key, a size in bytes and a lifetime [first, last] in steps (its
`tensor` and `name` are only carried along for reports and offsets by tensor); `shared`
maps (a, b) -> d when buffer a may overlap buffer b while both are live, provided a
starts at most d bytes after b (d < 0: at least -d bytes before it). What the buffers
are (tensors, views, in-place outputs, patch buffers, kernel scratch) is decided by the
schedule pass (tinyengine.core.lifetimes); this module knows nothing of graphs or layers.

`place` tries first-fit and best-fit over five orderings (and partner-first when there
are shared pairs) plus a two-ended (ping-pong) placement and keeps the smallest arena;
the result records which strategy won and the liveness lower bound (the most bytes
that must be live at one step)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALIGN = 4

Shared = Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class Buffer:
    """A buffer request (offset 0) or, as returned by the planner, a placed buffer."""

    key: str            # unique: "t<index>" for a tensor, "scratch<layer>", "gather<t>", "scatter<t>"
    tensor: int | None  # root tensor index, None for a buffer that holds no whole tensor
    name: str           # for reports only
    size: int
    first: int          # first step at which the buffer is live
    last: int           # last step at which it is live (inclusive)
    offset: int = 0

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps_in_space(self, other: Buffer) -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass(frozen=True)
class Placement:
    """What `place` returns: every requested buffer with its offset."""

    buffers: tuple[Buffer, ...]
    shared: dict[tuple[str, str], int]
    arena_bytes: int                 # end of the highest buffer, aligned to ALIGN
    lower_bound_bytes: int           # max over steps of the bytes that must be live at once
    peak_step: int                   # the first step at which the lower bound is reached
    strategy: str                    # which placement produced the offsets


@dataclass(frozen=True)
class Plan:
    """The memory plan of a scheduled network (built by tinyengine.core.schedule)."""

    buffers: tuple[Buffer, ...]
    alias: dict[int, int]            # tensor -> root tensor whose memory it shares
    arena_bytes: int
    scratch_bytes: int
    flash_bytes: int
    lower_bound_bytes: int           # max over steps of the bytes that must be live at once
    peak_step: int                   # the layer at which the lower bound is reached
    placement: str = ""              # which placement strategy produced the offsets
    # (a, b) -> d: buffer a may overlap buffer b while both are live if a starts at most d bytes after b
    # (a pointwise conv's output over its input, a patched stage's output over its input)
    shared: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)
    state_bytes: int = 0             # variable tensors kept between calls, outside the arena (core/state.py)

    @property
    def gap_to_lower_bound(self) -> float:
        """(arena - lower bound) / lower bound."""
        return (self.arena_bytes - self.lower_bound_bytes) / max(self.lower_bound_bytes, 1)

    @property
    def peak_sram_bytes(self) -> int:
        return self.arena_bytes + self.state_bytes

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


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def live_bytes(buffers: Sequence[Buffer], shared: Shared, step: int) -> int:
    """Bytes that must be live while `step` runs: every live buffer, less what a live
    `shared` pair may legally share."""
    by_key = {b.key: b for b in buffers}
    live = sum(b.size for b in buffers if b.first <= step <= b.last)
    for (a, b), delta in shared.items():
        if by_key[a].first <= step <= by_key[a].last and by_key[b].first <= step <= by_key[b].last:
            live -= max(0, min(by_key[b].size - delta, by_key[a].size))
    return live


def lower_bound(buffers: Sequence[Buffer], shared: Shared | None = None) -> tuple[int, int]:
    """(the most bytes live at one step, the first step where that happens); (0, 0) when nothing is live."""
    shared = shared or {}
    best, peak = 0, 0
    if buffers:
        for step in range(min(b.first for b in buffers), max(b.last for b in buffers) + 1):
            live = live_bytes(buffers, shared, step)
            if live > best:
                best, peak = live, step
    return best, peak


# Orderings tried by the placer; the smallest arena wins (ties: the earlier one).
ORDERINGS: dict[str, object] = {
    "size": lambda b: (-b.size, b.first, b.key),
    "first-use": lambda b: (b.first, -b.size, b.key),
    "lifetime": lambda b: (-(b.last - b.first), -b.size, b.key),
    "area": lambda b: (-(b.size * (b.last - b.first + 1)), b.key),
    "last-use": lambda b: (-b.last, -b.size, b.key),
}


QUICK_ORDERINGS = ("size", "lifetime")


def _check(buffers: Sequence[Buffer], shared: Shared) -> None:
    keys = [b.key for b in buffers]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate buffer keys: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    for b in buffers:
        if b.size < 0 or b.first > b.last:
            raise ValueError(f"buffer {b.key}: size {b.size}, lifetime [{b.first}, {b.last}]")
    missing = {k for pair in shared for k in pair} - set(keys)
    if missing:
        raise ValueError(f"shared pairs name unknown buffers: {sorted(missing)}")


def place(buffers: Sequence[Buffer], shared: Shared | None = None,
          orderings: Sequence[str] = tuple(ORDERINGS)) -> Placement:
    """Place every requested buffer (their offsets are ignored) so that no two buffers live at
    the same step overlap, except a `shared` pair within its allowance; smallest arena of all
    strategies (`orderings`: which orderings first-fit / best-fit / partner-first try;
    QUICK_ORDERINGS for comparing many candidates)."""
    shared = dict(shared or {})
    _check(buffers, shared)
    placed, strategy = best_placement(list(buffers), shared, tuple(orderings))
    arena = max((b.offset + b.size for b in placed), default=0)
    lower, peak = lower_bound(placed, shared)
    return Placement(tuple(placed), shared, align(arena), lower, peak, strategy)


def strategies(orderings: Sequence[str] = tuple(ORDERINGS), with_partners: bool = False) -> list[str]:
    """Names of the strategies `best_placement` tries, in its (tie-breaking) order."""
    names = []
    for name in orderings:
        names += [f"first-fit/{name}", f"best-fit/{name}"]
        if with_partners:
            names.append(f"partner-first/{name}")
    return [*names, "two-ended"]


def place_with(strategy: str, buffers: Sequence[Buffer], shared: Shared | None = None) -> list[Buffer] | None:
    """One placement strategy ("first-fit/<ordering>", "best-fit/<ordering>",
    "partner-first/<ordering>" or "two-ended"): the placed buffers, in placement order,
    or None (two-ended only) when it finds no placement within twice the lower bound."""
    shared = shared or {}
    if strategy == "two-ended":
        return _two_ended(list(buffers), shared, _aligned_peak(buffers))
    kind, _, ordering = strategy.partition("/")
    if kind not in ("first-fit", "best-fit", "partner-first") or ordering not in ORDERINGS:
        raise ValueError(f"unknown placement strategy '{strategy}'")
    ordered = sorted(buffers, key=ORDERINGS[ordering])
    return _fit(ordered, shared, best_fit=kind == "best-fit", partner_first=kind == "partner-first")


def best_placement(buffers: list[Buffer], shared: Shared | None = None,
                   orderings: tuple[str, ...] = tuple(ORDERINGS)) -> tuple[list[Buffer], str]:
    """First-fit and best-fit over several orderings, and a two-ended placement that
    ping-pongs consecutive tensors of a chain between the bottom and the top of the
    arena; keep the smallest arena (ties: the earlier strategy). `shared` pairs may
    overlap as Plan.shared says."""
    shared = shared or {}
    best: tuple[int, list[Buffer], str] | None = None
    for name in strategies(orderings, with_partners=bool(shared)):
        placed = place_with(name, buffers, shared)
        if placed is None:
            continue
        arena = max((b.offset + b.size for b in placed), default=0)
        if best is None or arena < best[0]:
            best = (arena, placed, name)
    return best[1], best[2]


def _aligned_peak(buffers: Sequence[Buffer]) -> int:
    """The most aligned bytes live at one buffer's first step (ignoring shared pairs)."""
    return max((sum(align(b.size) for b in buffers if b.first <= s <= b.last) for s in {b.first for b in buffers}),
               default=0)


def _forbidden(b: Buffer, placed: list[Buffer], shared: Shared) -> list[tuple[int, int]]:
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
    return sorted({0, *(align(hi) for _, hi in forbidden if hi > 0)})


def _room(offset: int, size: int, forbidden: list[tuple[int, int]]) -> int:
    """Free bytes from `offset` up to the next buffer above it (huge when nothing is above)."""
    above = [lo + size for lo, _ in forbidden if lo + size >= offset + size]
    return min(above) - offset if above else 1 << 40


def _partner_offsets(b: Buffer, placed: list[Buffer], shared: Shared) -> list[int]:
    """Offsets that overlap an already placed `shared` partner as much as allowed."""
    out = []
    for p in placed:
        if (b.key, p.key) in shared:
            out.append(p.offset + shared[(b.key, p.key)])
        elif (p.key, b.key) in shared:
            out.append(p.offset - shared[(p.key, b.key)])
    return [o // ALIGN * ALIGN if o >= 0 else -1 for o in out]


def _fit(ordered: list[Buffer], shared: Shared, best_fit: bool, partner_first: bool = False) -> list[Buffer]:
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


def _two_ended(buffers: list[Buffer], shared: Shared, limit: int) -> list[Buffer] | None:
    """Place in order of first use, alternating between the lowest and the highest allowed
    offset under `limit` (grown by 1/16 per retry); None if it does not fit in 2x the bound."""
    limit = align(limit)
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
        limit = align(limit + max(limit // 16, ALIGN))
    return None


def check_no_overlap(plan: Plan | Placement) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same time and overlap in the arena (must be empty),
    except a `shared` pair placed within its allowance; (key, "outside the arena") for a buffer
    that does not fit in it."""
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
