"""The in-place PAD kernel (runtime_c/src/pad_inplace.c) against its reference, tinyml_pad, which
is the spec: bit-identical outputs on many cases in one build per target (tests/kernelcheck.py),
on the host and in QEMU.

Cases drawn by hypothesis: ranks 1-4, any dimension padded before and after (0-3), element
sizes 1 and 4, any int8 pad value, empty inputs (all padding); a fixed list adds the NHWC paddings PyTorch
exports. The in-place kernel runs on a buffer of the output's size whose start holds the input
and whose rest holds garbage (what an arena has there); a deliberately wrong case (one output
byte flipped) must be the only mismatch reported."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernelcheck import (
    ONE_BUILD,
    TARGETS,
    Case,
    const_array,
    params_decl,
    require_target,
    run_cases,
    with_output_flipped,
)

from tinyengine.core.layers import right_align
from tinyengine.core.params import PadParams


def pad_case(name: str, shape: tuple[int, ...], pads: list[tuple[int, int]], size: int, value: int,
             seed: int) -> Case:
    rng = np.random.default_rng(seed)
    out_shape = tuple(d + a + b for d, (a, b) in zip(shape, pads))
    in_bytes = int(np.prod(shape, dtype=np.int64)) * size
    out_bytes = int(np.prod(out_shape, dtype=np.int64)) * size
    x = rng.integers(-128, 128, in_bytes, dtype=np.int8)
    work = np.concatenate([x, rng.integers(-128, 128, out_bytes - in_bytes, dtype=np.int8)])
    before = (0,) * (6 - len(shape)) + tuple(a for a, _ in pads)
    params = PadParams(right_align(shape), right_align(out_shape), before, size, value)
    decls = params_decl("{p}", params) + const_array("{p}", "x", x) + const_array("{p}", "work", work)
    return Case(name, decls, ref="tinyml_pad(&{p}params, {p}x, out_ref);",
                var=f"tinyml_pad_inplace(&{{p}}params, work);\n    memcpy(out_var, work, {out_bytes});",
                out_bytes=max(out_bytes, 1), work_init="{p}work", work_bytes=max(out_bytes, 1))


@st.composite
def specs(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(0 if draw(st.integers(0, 20)) == 0 else 1, 6)) for _ in range(rank))
    pads = [(draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(rank)]
    if any(d + a + b == 0 for d, (a, b) in zip(shape, pads)):   # an empty output compares nothing
        pads = [(a, b + (d + a + b == 0)) for d, (a, b) in zip(shape, pads)]
    return shape, pads, draw(st.sampled_from([1, 1, 4])), draw(st.integers(-128, 127)), draw(st.integers(0, 2**31))


FIXED = [((1, 24, 24, 8), [(0, 0), (1, 1), (1, 1), (0, 0)]), ((1, 24, 24, 3), [(0, 0), (0, 1), (0, 1), (0, 0)]),
         ((1, 9, 7, 5), [(0, 0), (2, 0), (0, 2), (0, 0)]), ((2, 5, 5, 16), [(0, 0), (1, 1), (1, 1), (0, 3)]),
         ((1, 1, 1, 1), [(0, 0), (3, 3), (3, 3), (0, 0)])]


@pytest.mark.parametrize("target", TARGETS[:2])
@ONE_BUILD
@given(drawn=st.lists(specs(), min_size=40, max_size=40))
def test_pad_inplace_matches_reference(target, drawn):
    require_target(target)
    cases = [pad_case(f"fixed {i} {s} {p}", s, p, 1, -128 + 37 * i, i) for i, (s, p) in enumerate(FIXED)]
    cases += [pad_case(f"drawn {i} {s} {p} size {e} value {v}", s, p, e, v, seed)
              for i, (s, p, e, v, seed) in enumerate(drawn)]
    control = with_output_flipped(pad_case("control", (1, 4, 4, 2), [(0, 0), (1, 1), (1, 1), (0, 0)], 1, 3, 9), 7)
    assert run_cases([*cases, control], target) == ["control"]
