"""The fast AVERAGE_POOL_2D kernel (runtime_c/src/avg_pool2d_s8_fast.c) against its reference
kernel, which is the spec: bit-identical outputs on many generated cases, in one build per target
(tests/kernelcheck.py): on the host (portable C) and in QEMU with each board's flags (SXTAB16 on
Cortex-M4, M7 and M55).

Cases: channel counts 1 .. 70 (multiples of 4 and not), 1-2 batches, windows from 1x1 to whole
planes, strides 1-3, paddings as SAME and VALID give them and larger (windows partly and wholly
outside the image), windows of exactly 256 taps (the int16 sums' limit) and more (the per-channel
fallback), inputs uniform or all -128 / all 127 (the sums' ends), activation ranges narrower than
int8; KWS's 25x5x64 and VWW's 3x3x256 global pools. Every run carries a deliberately corrupted case
(a correct call whose last output byte is then flipped), which must be the only mismatch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernelcheck import ONE_BUILD, TARGETS, Case, layer_decl, require_target, run_cases, with_output_flipped

from tinyengine.core.params import Activation, Dims, Pool2DParams, Tile


def _out_size(size: int, filt: int, stride: int, pad: int) -> int:
    return max(1, (size + 2 * pad - filt) // stride + 1)


def pool_case(rng: np.random.Generator, name: str, n: int, h: int, w: int, c: int, fh: int, fw: int, stride: int,
              pad: tuple[int, int], act: tuple[int, int] = (-128, 127), fill: str = "uniform") -> Case:
    oh, ow = _out_size(h, fh, stride, pad[0]), _out_size(w, fw, stride, pad[1])
    if fill == "uniform":
        x = rng.integers(-128, 128, (n, h, w, c), dtype=np.int8)
    else:
        x = np.full((n, h, w, c), -128 if fill == "min" else 127, np.int8)
    params = Pool2DParams(Dims(n, h, w, c), Dims(n, oh, ow, c), Tile(fh, fw), Tile(stride, stride), Tile(*pad),
                          Activation(*act))
    out_bytes = n * oh * ow * c
    return Case(name, layer_decl("{p}", params, x=x), "tinyml_avg_pool2d_s8(&{p}params, {p}x, out_ref);",
                "tinyml_avg_pool2d_s8_fast(&{p}params, {p}x, out_var);", out_bytes)


def pool_cases(seed: int, count: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases: list[Case] = []

    def add(tag: str, *shape, **kw) -> None:
        cases.append(pool_case(rng, f"pool{len(cases)} {tag} {shape} {kw}", *shape, **kw))

    add("kws", 1, 25, 5, 64, 25, 5, 1, (0, 0))
    add("vww", 1, 3, 3, 256, 3, 3, 1, (0, 0))
    add("256 taps", 1, 16, 16, 8, 16, 16, 1, (0, 0), fill="min")
    add("256 taps", 1, 16, 16, 8, 16, 16, 1, (0, 0), fill="max")
    add("257+ taps", 1, 17, 16, 12, 17, 16, 1, (0, 0), fill="min")
    add("257+ taps", 1, 20, 20, 5, 20, 20, 1, (0, 0))
    add("outside", 1, 3, 3, 4, 2, 2, 2, (3, 3))   # windows wholly in the padding: count 0
    for cc in (1, 3, 4, 5, 8, 12, 17, 31):
        add("channels", 2, 6, 5, cc, 3, 3, 2, (1, 1), act=(-100, 90))
    while len(cases) < count:
        h, w = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        fh, fw = int(rng.integers(1, h + 2)), int(rng.integers(1, w + 2))
        stride = int(rng.integers(1, 4))
        pad = (int(rng.integers(0, fh)), int(rng.integers(0, fw)))
        lo = int(rng.choice([-128, int(rng.integers(-128, 0))]))
        hi = int(rng.choice([127, int(rng.integers(lo, 128))]))
        add("random", int(rng.integers(1, 3)), h, w, int(rng.integers(1, 71)), fh, fw, stride, pad, act=(lo, hi),
            fill=str(rng.choice(["uniform", "uniform", "uniform", "min", "max"])))
    return cases


@pytest.mark.parametrize("target", TARGETS)
@ONE_BUILD
@given(seed=st.integers(0, 2**32 - 1))
def test_avg_pool_fast_matches_reference(target, seed):
    require_target(target)
    cases = pool_cases(seed, 40)
    control = with_output_flipped(pool_case(np.random.default_rng(seed), "control: last byte flipped", 1, 5, 5, 8,
                                            3, 3, 1, (1, 1)), 5 * 5 * 8 - 1)
    assert run_cases(cases + [control], target) == [control.name]
