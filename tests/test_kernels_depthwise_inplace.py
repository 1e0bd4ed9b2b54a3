"""The fast in-place DEPTHWISE_CONV_2D kernel (runtime_c/src/depthwise_conv2d_inplace_s8_fast.c)
against its reference kernel, tinyml_depthwise_conv2d_inplace_s8, which is the spec: bit-identical
outputs on many cases in one build per target (tests/kernelcheck.py): on the host (portable C)
and in QEMU with the board's compiler flags (the DSP path on Cortex-M4, M7 and M55).

The cases are drawn by hypothesis (one example per run: a list of layer specs; the int8 data
of each comes from a numpy generator seeded by the spec): kernel sizes 1-7, square or not,
strides 1-3, dilations 1-2, SAME and VALID, 1-17 channels, planes from 1x1 to 48x48, batches
1-2, any zero points, per-channel multipliers and shifts, narrow activation ranges, both
roundings, with and without bias, misaligned buffers. A fixed list adds the shapes the kernel
has fast paths or fallbacks for (KWS's 25x5x64, VWW's 48x48x8, stride 2, tiny planes, shifts
and accumulators at the edges of the fast requantization). Both kernels run in place on a
fresh copy of the input in `work`; the variant's scratch is exactly the declared size with a
canary after it, and the bytes after the input in `work` must survive too.

Every run also carries a deliberately wrong case (the variant given the unfolded bias) that
must be the only mismatch reported.

`test_instructions_per_mac` counts instructions per MAC on qemu-an500 (SysTick between two
reads under -icount shift=0), reference vs fast, on the KWS and 48x48x8 shapes; `python
tests/test_kernels_depthwise_inplace.py bench [target ...]` prints more shapes."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernelcases import bias_vector, per_channel_quant
from kernelcheck import (
    ONE_BUILD,
    TARGETS,
    Case,
    bench_main,
    bench_source,
    bench_ticks,
    const_array,
    layer_decl,
    profile_examples,
    require_target,
    run_cases,
    timed_run,
    with_output_flipped,
)

from tinyengine.core.fold import folded_bias
from tinyengine.core.params import Activation, DepthwiseConv2DParams, Dims, Rounding, Tile

CHANNELS = [1, 3, 4, 5, 8, 16, 17]
# bytes of input per drawn case (a build holds ~90 cases; the M55 board has 512 KiB for code and data)
BUDGET = 5000
N_CASES = 4 * profile_examples()

@dataclass(frozen=True)
class Spec:
    """One in-place depthwise layer; the arrays come from `seed`."""

    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    sh: int = 1
    sw: int = 1
    dh: int = 1
    dw: int = 1
    padding: str = "SAME"
    input_offset: int = 0
    output_offset: int = 0
    act: tuple[int, int] = (-128, 127)
    rounding: Rounding = Rounding.DOUBLE
    bias: str = "small"          # none, small, big (accumulators near the int32 ends)
    shifts: tuple[int, int] = (-12, 2)  # drawn uniformly in [lo, hi]
    seed: int = 0
    misalign: int = 0            # offset of the buffer in `work` and of the scratch
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # EXPLICIT padding: top, bottom, left, right (a folded PAD)

    def tag(self) -> str:
        return (f"n{self.n} {self.h}x{self.w}x{self.c} k{self.kh}x{self.kw} s{self.sh},{self.sw} "
                f"d{self.dh},{self.dw} {self.padding} io={self.input_offset} oo={self.output_offset} "
                f"act={self.act[0]}..{self.act[1]} {self.rounding.name} bias={self.bias} shifts={self.shifts} "
                f"seed={self.seed} misalign={self.misalign}"
                + (f" pads={self.pads}" if self.padding == "EXPLICIT" else ""))


def out_len(size: int, k: int, s: int, d: int, padding: str, before: int = 0, after: int = 0) -> tuple[int, int]:
    """Output length and leading padding (TFLite's SAME / VALID, or EXPLICIT `before` and `after`:
    a PAD folded into the layer)."""
    eff = (k - 1) * d + 1
    if padding == "EXPLICIT":
        return (size + before + after - eff) // s + 1, before
    if padding == "SAME":
        out = -(-size // s)
        return out, max((out - 1) * s + eff - size, 0) // 2
    return (size - eff) // s + 1, 0


def dw_case(spec: Spec, name: str, control: bool = False) -> Case:
    """Reference and fast kernel in place on the same input. `control`: the variant gets the
    unfolded bias (a kernel or compiler bug the harness must report)."""
    rng = np.random.default_rng(spec.seed)
    s = spec
    oh, ph = out_len(s.h, s.kh, s.sh, s.dh, s.padding, s.pads[0], s.pads[1])
    ow, pw = out_len(s.w, s.kw, s.sw, s.dw, s.padding, s.pads[2], s.pads[3])
    assert oh >= 1 and ow >= 1 and oh * ow <= s.h * s.w, spec
    x = rng.integers(-128, 128, (s.n, s.h, s.w, s.c), dtype=np.int8)
    f = rng.integers(-127, 128, (1, s.kh, s.kw, s.c), dtype=np.int8)
    if rng.random() < 0.1:
        f[..., int(rng.integers(0, s.c))] = rng.choice([-128, 127])
    m = rng.integers(1 << 30, 1 << 31, s.c, dtype=np.int64)
    m[rng.random(s.c) < 0.1] = (1 << 31) - 1
    m[rng.random(s.c) < 0.1] = 1 << 30
    shift = rng.integers(s.shifts[0], s.shifts[1] + 1, s.c)
    taps = s.kh * s.kw
    room = (1 << 31) - 1 - taps * 255 * 128 - taps * 128 * 128
    bias = bias_vector(rng, s.bias, s.c, room, small=1 << 15, jitter=1 << 20)
    fb = folded_bias(bias, f, s.input_offset, channel_axis=3)
    quant = per_channel_quant(m.astype(np.int32), shift.astype(np.int32))
    params = DepthwiseConv2DParams(Dims(s.n, s.h, s.w, s.c), Dims(1, s.kh, s.kw, s.c), Dims(s.n, oh, ow, s.c), 1,
                                   Tile(s.sh, s.sw), Tile(s.dh, s.dw), Tile(ph, pw), s.input_offset, s.output_offset,
                                   Activation(*s.act), s.rounding, quant)
    in_bytes, out_bytes = x.size, s.n * oh * ow * s.c
    a = s.misalign
    work = np.concatenate([rng.integers(-128, 128, a), x.reshape(-1), rng.integers(-128, 128, 8)]).astype(np.int8)
    decls = layer_decl("{p}", params, f=f, work=work, fb=fb, b=bias)
    ref = (f"tinyml_depthwise_conv2d_inplace_s8(&{{p}}params, work + {a}, {{p}}f, "
           f"{'{p}b' if bias is not None else 'NULL'}, scratch);\n    memcpy(out_ref, work + {a}, {out_bytes});")
    var_bias = ("{p}b" if bias is not None else "{p}zero") if control else "{p}fb"
    if control and bias is None:
        decls += const_array("{p}", "zero", np.zeros(s.c, np.int32))
    var = ("{\n"
           f"        int8_t *sc = scratch + {a};\n"
           "        const size_t n = tinyml_depthwise_conv2d_inplace_s8_fast_scratch_size(&{p}params);\n"
           "        memset(sc + n, 0x77, 4);\n"
           f"        tinyml_depthwise_conv2d_inplace_s8_fast(&{{p}}params, work + {a}, {{p}}f, {var_bias}, sc);\n"
           f"        memcpy(out_var, work + {a}, {out_bytes});\n"
           f"        if (n != {s.h * s.w}) out_var[0] ^= 0x11;\n"
           "        for (int k = 0; k < 4; ++k) if (sc[n + k] != 0x77) out_var[0] ^= 0x22;\n"
           f"        if (memcmp(work + {a + in_bytes}, {{p}}work + {a + in_bytes}, 8)) out_var[0] ^= 0x44;\n"
           "    }")
    return Case(name, decls, ref, var, out_bytes, scratch_bytes=a + s.h * s.w + 4, work_init="{p}work",
                work_bytes=work.size)


# ---- the cases -----------------------------------------------------------------

def _activation(draw, offset: int) -> tuple[int, int]:
    kind = draw(st.sampled_from(["full", "relu", "relu6", "narrow"]))
    if kind == "full":
        return -128, 127
    lo = min(max(offset, -128), 126)
    if kind == "relu":
        return lo, 127
    if kind == "relu6":
        return lo, min(127, lo + draw(st.integers(1, 120)))
    lo = draw(st.integers(-128, 127))
    return lo, draw(st.integers(lo, min(127, lo + 8)))


@st.composite
def specs(draw) -> Spec:
    c = draw(st.sampled_from(CHANNELS))
    n = draw(st.integers(1, 2))
    if draw(st.booleans()):
        kh = kw = draw(st.sampled_from([3, 3, 1, 5, 7]))
    else:
        kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    sh, sw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if draw(st.booleans()) else (1, 1)
    dh, dw = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if draw(st.integers(0, 3)) == 0 else (1, 1)
    if draw(st.booleans()):
        h, w = draw(st.sampled_from([(1, 1), (2, 3), (3, 2), (1, 4), (5, 1), (3, 3), (4, 4), (2, 7)]))
    else:
        h, w = draw(st.integers(1, 48)), draw(st.integers(1, 48))
        while n * h * w * c > BUDGET:
            h, w = max(1, h * 3 // 4), max(1, w * 3 // 4)
    padding = draw(st.sampled_from(["SAME", "VALID", "EXPLICIT"]))
    pads = (0, 0, 0, 0)
    if padding == "EXPLICIT":  # any padding before and after that keeps an output no larger than the input
        spans = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
        pads = tuple(draw(st.integers(0, spans[i // 2] - 1)) for i in range(4))
        outs = [out_len(size, k, st_, d, padding, pads[2 * i], pads[2 * i + 1])[0]
                for i, (size, k, st_, d) in enumerate(((h, kh, sh, dh), (w, kw, sw, dw)))]
        if min(outs) < 1 or outs[0] * outs[1] > h * w:
            padding, pads = "SAME", (0, 0, 0, 0)
    if padding == "VALID" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        padding = "SAME"
    oo = draw(st.integers(-128, 127))
    return Spec(n, h, w, c, kh, kw, sh, sw, dh, dw, padding, draw(st.integers(-127, 128)), oo, _activation(draw, oo),
                draw(st.sampled_from([Rounding.DOUBLE, Rounding.SINGLE])),
                draw(st.sampled_from(["small", "small", "none", "big"])),
                draw(st.sampled_from([(-12, 2), (-12, -1), (-10, -4)])), draw(st.integers(0, 2**32 - 1)),
                draw(st.integers(0, 3)), pads)


KWS = Spec(1, 25, 5, 64, 3, 3, input_offset=83, output_offset=-128, act=(-128, 127), shifts=(-10, -6))
VWW = Spec(1, 48, 48, 8, 3, 3, input_offset=128, output_offset=-128, act=(-128, 127), shifts=(-10, -6))


def fixed_specs() -> list[Spec]:
    """The shapes with fast paths or fallbacks of their own, always covered."""
    out = [KWS, replace(KWS, rounding=Rounding.SINGLE, act=(-20, 127), bias="none", seed=1),
           replace(KWS, act=(-100, 90), seed=4, misalign=2), replace(KWS, n=2, h=24, w=5, c=3, seed=5),
           replace(VWW, act=(-128, 50), seed=2), replace(VWW, rounding=Rounding.SINGLE, seed=3, misalign=1),
           replace(VWW, h=47, w=46, c=3, act=(-90, 127), seed=6), replace(VWW, h=9, w=31, c=5, seed=7)]
    stride2 = [(24, 24, (-128, 127), Rounding.DOUBLE), (23, 25, (-60, 127), Rounding.DOUBLE),
               (24, 25, (-128, 127), Rounding.SINGLE), (25, 23, (-128, 3), Rounding.SINGLE)]
    for i, (h, w, act, rounding) in enumerate(stride2):
        out.append(Spec(1, h, w, 6, 3, 3, 2, 2, input_offset=-5, output_offset=-128, act=act, rounding=rounding,
                        shifts=(-11, -3), seed=300 + i, misalign=i))
    more = [  # n, h, w, c, kh, kw, sh, sw, dh, dw, padding
        (1, 24, 24, 16, 3, 3, 2, 2, 1, 1, "SAME"), (1, 25, 24, 3, 3, 3, 2, 2, 1, 1, "SAME"),
        (2, 12, 12, 5, 3, 3, 2, 2, 1, 1, "VALID"), (1, 6, 6, 32, 3, 3, 1, 1, 1, 1, "SAME"),
        (1, 3, 3, 64, 3, 3, 1, 1, 1, 1, "SAME"), (2, 2, 2, 17, 3, 3, 1, 1, 1, 1, "SAME"),
        (1, 12, 12, 4, 5, 5, 1, 1, 1, 1, "SAME"), (1, 20, 20, 3, 7, 7, 2, 2, 1, 1, "VALID"),
        (1, 10, 10, 5, 3, 3, 1, 1, 2, 2, "SAME"), (1, 30, 7, 4, 1, 7, 1, 1, 1, 1, "SAME"),
        (1, 40, 3, 8, 3, 1, 1, 1, 1, 1, "SAME"), (2, 9, 4, 3, 5, 3, 1, 1, 1, 1, "SAME"),
        (1, 16, 16, 4, 3, 3, 1, 1, 1, 1, "VALID"), (1, 7, 9, 16, 2, 2, 3, 1, 1, 2, "SAME"),
        (1, 1, 1, 17, 7, 7, 3, 3, 2, 2, "SAME"), (1, 48, 1, 5, 3, 3, 1, 1, 1, 1, "SAME"),
        (1, 1, 48, 5, 3, 3, 1, 1, 1, 1, "SAME"), (1, 11, 13, 4, 4, 6, 1, 2, 1, 1, "SAME"),
        (2, 14, 5, 8, 3, 3, 1, 1, 1, 1, "SAME"), (1, 5, 30, 3, 3, 3, 1, 1, 1, 1, "VALID"),
    ]
    for i, (n, h, w, c, kh, kw, sh, sw, dh, dw, pad) in enumerate(more):
        out.append(Spec(n, h, w, c, kh, kw, sh, sw, dh, dw, pad, input_offset=[5, -127, 128, 0][i % 4],
                        output_offset=[3, -128, 127, -7][i % 4], act=[(-128, 127), (-3, 90), (0, 6), (-60, -50)][i % 4],
                        rounding=[Rounding.DOUBLE, Rounding.SINGLE][i % 2], bias=["small", "none", "big"][i % 3],
                        shifts=(-12, -1), seed=100 + i, misalign=i % 4))
    # folded PADs as PyTorch exports them: symmetric 1 before a stride-2 3x3 (top 1, nothing read past the
    # bottom), asymmetric ones, more padding than SAME gives
    explicit = [(24, 24, 3, 2, (1, 1, 1, 1)), (23, 25, 3, 2, (1, 1, 1, 1)), (24, 24, 3, 2, (1, 0, 1, 0)),
                (24, 24, 3, 2, (0, 1, 0, 1)), (25, 5, 3, 1, (2, 0, 0, 2)), (12, 12, 5, 1, (2, 2, 1, 3)),
                (48, 48, 3, 1, (1, 1, 1, 1)), (10, 10, 3, 1, (2, 0, 2, 0)), (9, 9, 7, 2, (3, 3, 3, 3))]
    for i, (h, w, k, s, pads) in enumerate(explicit):
        out.append(Spec(1, h, w, [8, 3, 5][i % 3], k, k, s, s, padding="EXPLICIT", pads=pads,
                        input_offset=[128, -7, 20][i % 3], output_offset=[-128, 5, 0][i % 3],
                        act=[(-128, 127), (-128, 60), (-20, 127)][i % 3],
                        rounding=[Rounding.DOUBLE, Rounding.SINGLE][i % 2], shifts=(-11, -3), seed=500 + i,
                        misalign=i % 4))
    # the whole-plane fallback: windows that fit neither scratch nor the stack buffer
    for i, (h, w, kh, kw, dh, dw) in enumerate([(16, 16, 7, 7, 2, 2), (17, 17, 7, 7, 2, 2), (9, 30, 7, 7, 2, 2)]):
        out.append(Spec(1 + i % 2, h, w, 3, kh, kw, 1, 1, dh, dw, "SAME", input_offset=[-9, 128, -127][i],
                        output_offset=[4, -128, 20][i], act=[(-128, 127), (-100, 100), (-128, 127)][i],
                        rounding=[Rounding.DOUBLE, Rounding.SINGLE][i % 2], shifts=(-4, -1), seed=400 + i))
    # requantization edges: shifts at and beyond the ends of the fast range, huge accumulators
    for i, shifts in enumerate([(-31, -20), (-22, -20), (-2, 0), (0, 2), (-1, -1), (-21, -21)]):
        for rounding in (Rounding.DOUBLE, Rounding.SINGLE):
            out.append(Spec(1, 9, 6, 5, 3, 3, input_offset=-17 + i, output_offset=9 * i - 20, act=(-128, 127),
                            rounding=rounding, bias=["big", "small"][i % 2], shifts=shifts, seed=200 + 2 * i))
    return out


CONTROL = Spec(1, 6, 5, 4, 3, 3, input_offset=37, output_offset=0, act=(-128, 127), shifts=(-9, -7), seed=99)


def all_cases(drawn: list[Spec]) -> tuple[list[Case], Case]:
    cases = [dw_case(s, f"dw{i} fixed {s.tag()}") for i, s in enumerate(fixed_specs())]
    cases += [dw_case(s, f"dw{len(cases) + i} drawn {s.tag()}") for i, s in enumerate(drawn)]
    return cases, dw_case(CONTROL, "control: the unfolded bias", control=True)


@pytest.mark.parametrize("target", TARGETS)
@ONE_BUILD
@given(drawn=st.lists(specs(), min_size=N_CASES, max_size=N_CASES))
def test_depthwise_inplace_fast_matches_reference(target, drawn):
    """Every fixed and drawn case bit-exact, and only the control reported."""
    require_target(target)
    cases, control = all_cases(drawn)
    assert run_cases(cases + [control], target) == [control.name]


# The build flags that leave steps out (codegen.build.step_defines), each against layers that
# would have used the left-out steps: clamped, full-range, stride-2, 5x5, 7x7 and dilated ones,
# and channels outside the fast requantization, are all in the fixed list.
STEP_FLAG_SETS = [("-DTINYML_DW_INPLACE_ALWAYS_CLAMP", "-DTINYML_DW_INPLACE_NO_S2"),
                  ("-DTINYML_DW_INPLACE_NO_CLAMP",),
                  ("-DTINYML_DW_INPLACE_ALWAYS_CLAMP", "-DTINYML_DW_INPLACE_NO_S2",
                   "-DTINYML_DW_INPLACE_NO_PORTABLE_STEP"),
                  ("-DTINYML_DW_INPLACE_NO_CLAMP", "-DTINYML_DW_INPLACE_NO_PORTABLE_STEP")]


@pytest.mark.parametrize("defines", STEP_FLAG_SETS, ids=lambda d: "+".join(x[len("-DTINYML_DW_INPLACE_"):] for x in d))
def test_step_flags_never_change_a_result(defines):
    """On Cortex-M7 (the DSP steps), a runtime built with steps left out still gives every fixed
    case bit-exact: the flags only move a layer to another exact step."""
    require_target("qemu-an500")
    cases, control = all_cases([])
    assert run_cases(cases + [control], "qemu-an500", defines=defines) == [control.name]


def test_harness_reports_corrupted_cases():
    """Negative controls on the host: the unfolded bias, and a variant whose last output byte
    is off by one bit, are reported; the correct case in the same build is not."""
    good = dw_case(CONTROL, "good")
    bad = dw_case(CONTROL, "unfolded bias", control=True)
    stale = dw_case(replace(CONTROL, seed=5), "last byte flipped")
    stale = with_output_flipped(stale, stale.out_bytes - 1)
    assert run_cases([good, bad, stale], "host") == ["unfolded bias", "last byte flipped"]


# ---- instruction counts -----------------------------------------------------------

def count_instructions(target: str, specs_: list[Spec], reps: int = 4) -> list[tuple[float, float]]:
    """(reference, fast) instructions per MAC of each spec on `target`, from SysTick ticks
    (1e9 / clock_hz instructions each under -icount shift=0) around `reps` calls; the copy
    of the input into the buffer before each call is timed alone and subtracted."""
    decls, runs, macs = "", "", []
    buf_max, scratch_max = 4, 4
    for i, s in enumerate(specs_):
        rng = np.random.default_rng(s.seed)
        oh, ph = out_len(s.h, s.kh, s.sh, s.dh, s.padding)
        ow, pw = out_len(s.w, s.kw, s.sw, s.dw, s.padding)
        x = rng.integers(-128, 128, (s.n, s.h, s.w, s.c), dtype=np.int8)
        f = rng.integers(-127, 128, (1, s.kh, s.kw, s.c), dtype=np.int8)
        bias = rng.integers(-(1 << 12), 1 << 12, s.c, dtype=np.int32)
        quant = per_channel_quant(rng.integers(1 << 30, 1 << 31, s.c).astype(np.int32),
                                  rng.integers(*s.shifts, s.c).astype(np.int32))
        params = DepthwiseConv2DParams(Dims(s.n, s.h, s.w, s.c), Dims(1, s.kh, s.kw, s.c), Dims(s.n, oh, ow, s.c), 1,
                                       Tile(s.sh, s.sw), Tile(s.dh, s.dw), Tile(ph, pw), s.input_offset,
                                       s.output_offset, Activation(*s.act), s.rounding, quant)
        p = f"b{i}_"
        decls += layer_decl(p, params, x=x, f=f, b=bias, fb=folded_bias(bias, f, s.input_offset, channel_axis=3))
        macs.append(s.n * oh * ow * s.c * s.kh * s.kw)
        buf_max, scratch_max = max(buf_max, x.size), max(scratch_max, s.h * s.w)
        copy = f"memcpy(buf, {p}x, {x.size});"
        ref = f"tinyml_depthwise_conv2d_inplace_s8(&{p}params, buf, {p}f, {p}b, scratch);"
        fast = f"tinyml_depthwise_conv2d_inplace_s8_fast(&{p}params, buf, {p}f, {p}fb, scratch);"
        for kind, call in (("copy", ""), ("ref", ref), ("fast", fast)):
            runs += timed_run(f"{i} {kind}", f"{copy} {call}", reps)
    ticks, per_tick = bench_ticks(target, bench_source(decls, {"buf": buf_max, "scratch": scratch_max}, runs))
    result = []
    for i, n in enumerate(macs):
        base = ticks[(i, "copy")]
        result.append(tuple((ticks[(i, k)] - base) * per_tick / reps / n for k in ("ref", "fast")))
    return result


# instructions per MAC the fast kernel must stay under on Cortex-M7 (measured 3.17, 3.54, 2.59, 2.93)
PER_MAC_BOUNDS = [(KWS, 3.3), (replace(KWS, act=(-100, 127)), 3.7), (VWW, 2.7), (replace(VWW, act=(-128, 40)), 3.05)]


def test_instructions_per_mac():
    """KWS's 25x5x64 and VWW's 48x48x8 3x3 stride-1 layers on Cortex-M7 (full activation range
    and a clamped one): the fast kernel's instructions per MAC, copies into scratch and
    requantization included, under the recorded bounds and under an eighth of the reference's."""
    require_target("qemu-an500")
    counts = count_instructions("qemu-an500", [s for s, _ in PER_MAC_BOUNDS])
    for (s, bound), (ref, fast) in zip(PER_MAC_BOUNDS, counts):
        print(f"{s.h}x{s.w}x{s.c} act={s.act}: reference {ref:.2f}, fast {fast:.2f} instructions/MAC")
        assert fast <= bound and fast <= ref / 8, (s.tag(), ref, fast)


BENCH_SPECS = [
    ("KWS 25x5x64 3x3 s1 SAME", KWS),
    ("KWS 25x5x64 3x3 s1 SAME clamped", replace(KWS, act=(-100, 127))),
    ("48x48x8 3x3 s1 SAME", VWW),
    ("48x48x8 3x3 s1 SAME clamped", replace(VWW, act=(-128, 40))),
    ("48x48x8 SINGLE", replace(VWW, rounding=Rounding.SINGLE)),
    ("24x24x16 3x3 s2 SAME", Spec(1, 24, 24, 16, 3, 3, 2, 2, input_offset=128, act=(-128, 40), shifts=(-10, -6))),
    ("24x24x32 3x3 s1 SAME", Spec(1, 24, 24, 32, 3, 3, input_offset=128, act=(-128, 40), shifts=(-10, -6))),
    ("6x6x128 3x3 s1 SAME", Spec(1, 6, 6, 128, 3, 3, input_offset=128, act=(-128, 40), shifts=(-10, -6))),
    ("3x3x256 3x3 s1 SAME", Spec(1, 3, 3, 256, 3, 3, input_offset=128, act=(-128, 40), shifts=(-10, -6))),
    ("12x12x16 5x5 s1 SAME", Spec(1, 12, 12, 16, 5, 5, input_offset=3, shifts=(-10, -6))),
]


def bench(targets: list[str]) -> None:
    for target in targets:
        print(target)
        for (name, _), (ref, fast) in zip(BENCH_SPECS, count_instructions(target, [s for _, s in BENCH_SPECS])):
            print(f"  {name:32s} reference {ref:6.2f}  fast {fast:5.2f} instructions/MAC  ({ref / fast:.1f}x)")


if __name__ == "__main__":
    bench_main(sys.argv, __doc__, bench, ["qemu-an500"])
