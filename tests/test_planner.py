"""The placement planner on its own, in the style of TF-Lite Micro's
greedy_memory_planner_test: a few buffers (key, size, first and last step) and
the allowed overlaps in, offsets out, every answer derived by hand in a comment.

Notation: name size [first, last] -> offset; [lo, hi) is the byte range a buffer
takes. A buffer may not start inside a live buffer's range or end past its start,
except a `shared` pair (a, b) -> d: a may overlap b while both are live if a starts
at most d bytes after b."""

from __future__ import annotations

import pytest

from tinyengine.core.planner import (
    ALIGN,
    ORDERINGS,
    Buffer,
    Plan,
    best_placement,
    check_no_overlap,
    live_bytes,
    lower_bound,
    place,
    place_with,
    strategies,
)


def buf(key: str, size: int, first: int, last: int, offset: int = 0) -> Buffer:
    return Buffer(key, None, key, size, first, last, offset)


def offsets(placed) -> dict[str, int]:
    return {b.key: b.offset for b in placed}


def arena(placed) -> int:
    return max(b.offset + b.size for b in placed)


def test_two_buffers_apart_in_time_share_offset_0():
    # a is dead before b is born: both start at 0, the arena is the larger one.
    placed = place([buf("a", 100, 0, 1), buf("b", 60, 2, 3)])
    assert offsets(placed.buffers) == {"a": 0, "b": 0}
    assert placed.arena_bytes == 100
    assert (placed.lower_bound_bytes, placed.peak_step) == (100, 0)
    assert check_no_overlap(placed) == []


def test_two_buffers_live_together_are_stacked_aligned():
    # a 12 [0,1] and b 6 [1,2] are both live at step 1. The size ordering places a first
    # at 0, b at the first aligned offset past it (12); the arena 12 + 6 = 18 rounds up to 20.
    placed = place([buf("a", 12, 0, 1), buf("b", 6, 1, 2)])
    assert offsets(placed.buffers) == {"a": 0, "b": 12}
    assert placed.arena_bytes == 20 and placed.arena_bytes % ALIGN == 0
    assert placed.lower_bound_bytes == 18          # live bytes are not rounded
    assert placed.strategy == "first-fit/size"     # every strategy ties at 18; the first one wins
    # An odd-sized first buffer pushes the next one to an aligned offset: a 10 -> b at 12.
    assert offsets(place([buf("a", 10, 0, 1), buf("b", 6, 1, 2)]).buffers) == {"a": 0, "b": 12}


# Two holes at step 1 (first-use ordering: first use, then larger first, then key):
#   a 16 [0,0] -> 0     [0, 16)
#   b  8 [0,3] -> 16    [16, 24)   (a is live)
#   c  8 [0,0] -> 24    [24, 32)   (a, b are live)
#   d  8 [0,3] -> 32    [32, 40)   (a, b, c are live)
# When x 8 [1,3] comes, a and c are dead: the free ranges are [0, 16), [24, 32) and above 40.
#   first-fit takes the lowest, 0; best-fit the tightest, 24 (8 bytes of room, against 16 at 0).
# Then y 16 [2,3] (b, d, x live):
#   first-fit: [0, 8) is x's, [8, 16) and [24, 32) are 8 bytes: y goes to 40, arena 56;
#   best-fit: [0, 16) is still free: y at 0, arena 40, the lower bound (step 0: 16+8+8+8).
# (Without shared pairs, best-fit only parts from first-fit when a buffer sees two bounded holes;
# making two takes two buffers that die first, hence six buffers here.)
HOLES = [buf("a", 16, 0, 0), buf("b", 8, 0, 3), buf("c", 8, 0, 0), buf("d", 8, 0, 3),
         buf("x", 8, 1, 3), buf("y", 16, 2, 3)]


def test_first_fit_takes_the_lowest_hole():
    placed = place_with("first-fit/first-use", HOLES)
    assert offsets(placed) == {"a": 0, "b": 16, "c": 24, "d": 32, "x": 0, "y": 40}
    assert arena(placed) == 56


def test_best_fit_takes_the_tightest_hole():
    placed = place_with("best-fit/first-use", HOLES)
    assert offsets(placed) == {"a": 0, "b": 16, "c": 24, "d": 32, "x": 24, "y": 0}
    assert arena(placed) == 40
    assert lower_bound(HOLES) == (40, 0)


def test_orderings_sort_as_documented():
    # size: larger first (a, y), ties by first use, then key.
    assert [b.key for b in place_with("first-fit/size", HOLES)] == ["a", "y", "b", "c", "d", "x"]
    # first-use: earlier first, then larger.
    assert [b.key for b in place_with("first-fit/first-use", HOLES)] == ["a", "b", "c", "d", "x", "y"]
    # last-use: later last use first (b, d, x, y end at 3), then larger.
    assert [b.key for b in place_with("first-fit/last-use", HOLES)] == ["y", "b", "d", "x", "a", "c"]


# Partner-first: input b 16 [0,1]; its output c 12 [1,1] may start at most 4 bytes after b
# (like a pointwise conv's allowance); d 8 [1,1] is live with both. First-use ordering:
#   a 16 [0,0] -> 0     [0, 16)
#   b 16 [0,1] -> 16    [16, 32)
#   c 12 [1,1]: a is dead, so 0 is free; b's allowance also permits 16 + 4 = 20, [20, 32).
#       first-fit -> 0 (lowest); partner-first -> 20, over the end of b. best-fit -> 20 as well:
#       c may not start in (20, 32), so the room it measures is 20 + 12 - 0 = 32 bytes from 0
#       and 20 + 12 - 20 = 12 from 20, the tighter one.
#   d  8 [1,1]: after first-fit, [0, 12) is c's and [12, 16) is too small: d -> 32, arena 40;
#               with c at 20, [0, 16) is free: d -> 0, arena 32 (the lower bound, step 0).
PARTNERS = [buf("a", 16, 0, 0), buf("b", 16, 0, 1), buf("c", 12, 1, 1), buf("d", 8, 1, 1)]
PARTNERS_SHARED = {("c", "b"): 4}


def test_partner_first_overlaps_the_partner():
    first_fit = place_with("first-fit/first-use", PARTNERS, PARTNERS_SHARED)
    assert offsets(first_fit) == {"a": 0, "b": 16, "c": 0, "d": 32} and arena(first_fit) == 40
    best_fit = place_with("best-fit/first-use", PARTNERS, PARTNERS_SHARED)
    assert offsets(best_fit) == {"a": 0, "b": 16, "c": 20, "d": 0} and arena(best_fit) == 32
    partner = place_with("partner-first/first-use", PARTNERS, PARTNERS_SHARED)
    assert offsets(partner) == {"a": 0, "b": 16, "c": 20, "d": 0} and arena(partner) == 32
    assert check_no_overlap(_plan(partner, PARTNERS_SHARED, 32)) == []
    # step 1: b 16 + c 12 + d 8, less the min(16 - 4, 12) = 12 bytes c may share with b
    assert live_bytes(PARTNERS, PARTNERS_SHARED, 1) == 24
    assert lower_bound(PARTNERS, PARTNERS_SHARED) == (32, 0)


# Two-ended on a chain: a 20 [0,1], b 8 [1,3], c 8 [2,3], d 16 [3,5].
# The limit is the most aligned bytes live at a first use: step 3, b + c + d = 32.
# In first-use order, alternating bottom and top under 32:
#   a (bottom) -> 0         [0, 20)
#   b (top)    -> 32-8 = 24 [24, 32)
#   c (bottom) -> 0         [0, 8)     (a is dead at 2)
#   d (top)    -> the highest offset at most 32-16 = 16 not colliding with b [24, 32) or c [0, 8):
#                 16 would reach into b, so 8: [8, 24). Arena 32.
# First-fit by size instead: a -> 0; d -> 0 (a is dead by 3); b collides with both -> 20;
# c collides with b [20, 28) and d [0, 16) -> 28: arena 36.
CHAIN = [buf("a", 20, 0, 1), buf("b", 8, 1, 3), buf("c", 8, 2, 3), buf("d", 16, 3, 5)]


def test_two_ended_ping_pongs_a_chain():
    placed = place_with("two-ended", CHAIN)
    assert offsets(placed) == {"a": 0, "b": 24, "c": 0, "d": 8}
    assert arena(placed) == 32
    assert offsets(place_with("first-fit/size", CHAIN)) == {"a": 0, "b": 20, "c": 28, "d": 0}
    best = place(CHAIN)
    assert (best.strategy, best.arena_bytes, best.lower_bound_bytes, best.peak_step) == ("two-ended", 32, 32, 3)
    assert all(arena(place_with(s, CHAIN)) >= 36 for s in strategies() if s != "two-ended")


def test_best_placement_keeps_the_first_of_equal_arenas():
    # Everything ties on the disjoint pair; the first strategy tried wins.
    placed, name = best_placement([buf("a", 8, 0, 0), buf("b", 8, 1, 1)])
    assert name == strategies()[0] == "first-fit/size"
    assert strategies(("size",), with_partners=True) == ["first-fit/size", "best-fit/size", "partner-first/size",
                                                         "two-ended"]
    assert len(strategies()) == 2 * len(ORDERINGS) + 1


def test_shared_pair_is_placed_within_its_allowance():
    # A pointwise conv over 4 pixels, 8 -> 4 channels: input i 32 B, output o 16 B, and the
    # pixel-by-pixel kernel lets o start at most 8 - 4 = 4 bytes after i.
    # i -> 0; o may not start in (4, 32) (inside i, past the allowance) -> 0, over i's first bytes.
    # Both fit in 32 bytes, the lower bound: 32 + 16 - min(32 - 4, 16).
    placed = place([buf("i", 32, 0, 1), buf("o", 16, 1, 2)], {("o", "i"): 4})
    assert offsets(placed.buffers) == {"i": 0, "o": 0}
    assert placed.arena_bytes == placed.lower_bound_bytes == 32
    assert check_no_overlap(placed) == []
    # 4 -> 8 channels: o 32 B must start at least (8 - 4) * 4 = 16 bytes before i 16 B.
    # The size ordering places o first at 0, then i may start at 16 at the earliest: [16, 32).
    placed = place([buf("i", 16, 0, 1), buf("o", 32, 1, 2)], {("o", "i"): -16})
    assert offsets(placed.buffers) == {"o": 0, "i": 16}
    assert placed.arena_bytes == 32
    assert check_no_overlap(placed) == []
    # Without the allowance they are stacked.
    assert place([buf("i", 16, 0, 1), buf("o", 32, 1, 2)]).arena_bytes == 48


def _plan(buffers, shared, arena_bytes) -> Plan:
    return Plan(tuple(buffers), {}, arena_bytes, 0, 0, 0, 0, "by hand", shared)


def test_check_no_overlap_flags_a_real_overlap_and_accepts_an_allowed_one():
    # x [0, 16) and y [8, 24) are both live at step 1 and share [8, 16).
    pair = [Buffer("t0", 0, "x", 16, 0, 1, 0), Buffer("t1", 1, "y", 16, 1, 2, 8)]
    assert check_no_overlap(_plan(pair, {}, 24)) == [("t0", "t1")]
    assert check_no_overlap(_plan(pair, {("t1", "t0"): 8}, 24)) == []          # y starts 8 after x: allowed
    assert check_no_overlap(_plan(pair, {("t1", "t0"): 4}, 24)) == [("t0", "t1")]  # only 4 allowed
    # the other way round: x must start at least 16 bytes before y, it starts only 8 before
    assert check_no_overlap(_plan(pair, {("t0", "t1"): -16}, 24)) == [("t0", "t1")]
    # Not live together: no overlap whatever the offsets.
    apart = [Buffer("t0", 0, "x", 16, 0, 0, 0), Buffer("t1", 1, "y", 16, 1, 2, 8)]
    assert check_no_overlap(_plan(apart, {}, 24)) == []
    # A buffer past the arena's end.
    assert check_no_overlap(_plan(apart, {}, 20)) == [("t1", "outside the arena")]


def test_lower_bound_is_the_most_bytes_live_at_one_step():
    # live bytes: step 0: a 10; step 1: a 10 + b 6 = 16; step 2: b 6 + c 20 = 26; step 3: c 20
    buffers = [buf("a", 10, 0, 1), buf("b", 6, 1, 2), buf("c", 20, 2, 3)]
    assert [live_bytes(buffers, {}, s) for s in range(4)] == [10, 16, 26, 20]
    assert lower_bound(buffers) == (26, 2)
    placed = place(buffers)
    assert (placed.lower_bound_bytes, placed.peak_step) == (26, 2)
    assert placed.arena_bytes >= placed.lower_bound_bytes
    assert lower_bound([]) == (0, 0)


def test_place_rejects_malformed_requests():
    with pytest.raises(ValueError, match="duplicate"):
        place([buf("a", 4, 0, 0), buf("a", 4, 1, 1)])
    with pytest.raises(ValueError, match="lifetime"):
        place([buf("a", 4, 2, 1)])
    with pytest.raises(ValueError, match="unknown"):
        place([buf("a", 4, 0, 0)], {("a", "z"): 0})
    with pytest.raises(ValueError, match="strategy"):
        place_with("worst-fit/size", [buf("a", 4, 0, 0)])


def test_plan_offsets_follow_aliases():
    plan = Plan((Buffer("t0", 0, "x", 16, -1, 1, 0), Buffer("t2", 2, "y", 8, 0, 2, 16),
                 Buffer("scratch1", None, "s", 4, 1, 1, 24)), {1: 0}, 28, 4, 0, 28, 1, "by hand")
    assert plan.tensor_offset(1) == plan.tensor_offset(0) == 0     # tensor 1 lives in tensor 0's buffer
    assert plan.tensor_offset(2) == 16 and plan.buffer_offset("t2") == 16
    assert plan.scratch_offset(1) == 24
    with pytest.raises(KeyError):
        plan.tensor_offset(5)


def test_planner_knows_nothing_of_graphs_layers_or_patches():
    """Its whole input is the buffer requests and the allowed overlaps."""
    import ast
    from pathlib import Path

    import tinyengine.core.planner as planner

    tree = ast.parse(Path(planner.__file__).read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [m for m in imported if m.startswith(("tinyengine", ".")) or m in ("ir", "layers", "patch", "lower")]
    assert all(n.level == 0 for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
