"""The Helium (MVE) builds of the fast CONV_2D, pointwise CONV_2D and FULLY_CONNECTED kernels
(runtime_c/src/*_fast_mve.c, compiled only with integer MVE: Cortex-M55) against their
reference kernels, which are the spec: bit-identical outputs on generated cases, in one QEMU
boot of qemu-an547 per kernel (tests/kernelcheck.py, the board's compiler flags).

Each test draws its cases with hypothesis (one example, so one firmware build per test):
channel counts around the 16-lane vector width (1, 3, 4, 5, 8, 15, 16, 17, 31, 33 and random
ones), kernel sizes 1-5 (non-square too), strides, dilations and paddings, 1-2 batches, input
offsets in [-127, 128], output offsets in [-128, 127], multipliers in [2^30, 2^31), shifts in
[-12, 2] (sometimes at the contract's ends), narrow activation ranges, both roundings, with and
without bias, accumulators near the int32 ends; the pointwise kernel also in place (output
overlapping the input up to the header's limit) and with misaligned scratch. Every variant
call checks its scratch size and that the 4 bytes after the scratch survive. Each run carries
one deliberately wrong call (another multiplier) that must be the only mismatch reported, so a
harness that compares nothing cannot pass.

Not part of the suite: `python tests/test_kernels_mve.py bench` counts instructions per MAC on
qemu-an547 (SysTick ticks under -icount shift=0) for a 25x5 64->64 pointwise layer, a 32x32
3x3 16->16 convolution and two fully connected layers, reference vs fast."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from kernelcases import (
    OutputQuant,
    bias_vector,
    layer_case_decls,
    multipliers,
    overlapping_work,
    per_channel_quant,
    pointwise_overlap_limit,
)
from kernelcheck import (
    ONE_BUILD,
    Case,
    bench_source,
    bench_ticks,
    const_array,
    layer_decl,
    require_target,
    run_cases,
    timed_run,
)

from tinyengine.core.fold import folded_bias
from tinyengine.core.params import Activation, Conv2DParams, Dims, FullyConnectedParams, PerChannelQuant, Rounding, Tile

TARGET = "qemu-an547"
CASES = 40
# around the 16-lane vectors and the 4-channel output groups
CHANNELS = [1, 3, 4, 5, 8, 15, 16, 17, 31, 33]
EDGE_SHIFTS = [-31, -22, -13, -12, -2, -1, 0, 1, 2, 30]


# ---- the output side -----------------------------------------------------------

@st.composite
def quant_kind(draw):
    """The scalars of a layer's requantization; per-channel tables come from the case's rng."""
    io = draw(st.one_of(st.sampled_from([-127, 128, 0]), st.integers(-127, 128)))
    oo = draw(st.one_of(st.sampled_from([-128, 127, 0]), st.integers(-128, 127)))
    act = draw(st.sampled_from(["full", "around", "random"]))
    if act == "full":
        lo, hi = -128, 127
    elif act == "around":  # a narrow range around the output offset (ReLU6-like ranges)
        lo = max(-128, oo - draw(st.integers(0, 20)))
        hi = min(127, oo + draw(st.integers(0, 20)))
    else:
        lo = draw(st.integers(-128, 127))
        hi = draw(st.integers(lo, 127))
    rounding = draw(st.sampled_from([Rounding.DOUBLE, Rounding.SINGLE]))
    # negative / small (all < 0): SINGLE's vector path; small: rounding ties with tiny data
    shifts = draw(st.sampled_from(["negative", "small", "small", "any", "edge"]))
    return io, oo, (lo, hi), rounding, shifts


def make_quant(rng: np.random.Generator, channels: int, kind) -> OutputQuant:
    io, oo, act, rounding, shifts = kind
    m = multipliers(rng, channels, 0.15, ends=(1 << 30, (1 << 31) - 1, (1 << 30) + 1))
    if shifts == "negative":
        shift = rng.integers(-12, 0, channels)
    elif shifts == "small":
        shift = rng.integers(-4, 0, channels)
    elif shifts == "any":
        shift = rng.integers(-12, 3, channels)
    elif shifts == "edge":
        shift = rng.choice(EDGE_SHIFTS, channels)
    else:  # the negative controls: a moderate scale, so another multiplier shows
        shift = np.full(channels, -8)
    return OutputQuant(io, oo, act, rounding, m.astype(np.int32), shift.astype(np.int32))


def per_channel(q: OutputQuant) -> PerChannelQuant:
    return per_channel_quant(q.multiplier, q.shift)


def other_multiplier(m: np.ndarray) -> np.ndarray:
    """The negative control's table: every multiplier moved, the first one far."""
    moved = np.where(m == (1 << 31) - 1, m - 1, m + 1).astype(np.int64)
    moved[0] = (int(m[0]) + (1 << 29)) % (1 << 31)
    return moved.astype(np.int32)


def activations(rng: np.random.Generator, shape: tuple[int, ...], q: OutputQuant, scale: str) -> np.ndarray:
    """int8 input; "tiny": within 3 of the zero point, so small shifts meet rounding ties in range."""
    if scale == "tiny":
        return np.clip(-q.input_offset + rng.integers(-3, 4, shape), -128, 127).astype(np.int8)
    return rng.integers(-128, 128, shape, dtype=np.int8)


def weights_bias(rng: np.random.Generator, rows: int, shape: tuple[int, ...], q: OutputQuant, bias_kind: str,
                 scale: str = "full"):
    """int8 weights [rows, *shape], the bias (or None) and the folded bias the fast kernels take."""
    w = rng.integers(-127, 128, (rows, *shape), dtype=np.int8)
    if rng.random() < 0.1:
        w[:] = rng.choice([-127, 127])
    depth = int(np.prod(shape))
    if scale == "tiny":
        w = rng.integers(-3, 4, (rows, *shape), dtype=np.int8)
    if scale == "tiny" and bias_kind != "none":
        bias = rng.integers(-64, 65, rows, dtype=np.int32)
    else:  # a big one: accumulators near the int32 ends
        room = (1 << 31) - 1 - depth * 128 * 127 - abs(q.input_offset) * 127 * depth
        bias = bias_vector(rng, bias_kind, rows, room)
    return w, bias, folded_bias(bias, w, q.input_offset, channel_axis=0)


BIAS = st.sampled_from(["small", "small", "none", "big"])
SCALE = st.sampled_from(["full", "full", "tiny"])


def _scratch_checked(size_fn: str, expected: int, misalign: int, call: str) -> str:
    """The variant call with its scratch at scratch + misalign: the scratch size must be
    `expected` and the 4 bytes after it must survive the call, else the output is spoiled."""
    return ("{\n"
            f"        int8_t *sc = scratch + {misalign};\n"
            f"        const size_t n = {size_fn}(&{{p}}params);\n"
            "        memset(sc + n, 0x77, 4);\n"
            f"        {call}\n"
            "        for (int k = 0; k < 4; ++k) if (sc[n + k] != 0x77) out_var[0] ^= 0x55;\n"
            f"        if (n != {expected}u) out_var[0] ^= 0x33;\n"
            "    }")


# ---- pointwise CONV_2D ------------------------------------------------------------

@st.composite
def pointwise_spec(draw):
    cin = draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 80)))
    cout = draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 80)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    pixels = int(np.prod(shape))
    limit = pointwise_overlap_limit(cin, cout, pixels)
    overlap = draw(st.one_of(st.none(), st.none(), st.sampled_from([limit, min(limit, 0)]),
                             st.integers(limit - 3 * max(cin, cout), limit)))
    return dict(cin=cin, cout=cout, shape=shape, overlap=overlap, misalign=draw(st.integers(0, 3)),
                bias=draw(BIAS), scale=draw(SCALE), quant=draw(quant_kind()), seed=draw(st.integers(0, 2**32 - 1)))


def pointwise_case(name: str, spec: dict, control: bool = False) -> Case:
    rng = np.random.default_rng(spec["seed"])
    cin, cout, (n, h, w) = spec["cin"], spec["cout"], spec["shape"]
    q = make_quant(rng, cout, spec["quant"])
    pixels = n * h * w
    x = activations(rng, (n, h, w, cin), q, spec["scale"])
    f, bias, fb = weights_bias(rng, cout, (1, 1, cin), q, spec["bias"], spec["scale"])
    params = Conv2DParams(Dims(n, h, w, cin), Dims(cout, 1, 1, cin), Dims(n, h, w, cout), Tile(1, 1), Tile(1, 1),
                          Tile(0, 0), q.input_offset, q.output_offset, Activation(*q.act), q.rounding, per_channel(q))
    decls, var_params = layer_case_decls(params, control, other_multiplier, x=x, f=f, fb=fb, b=bias)
    out_bytes = pixels * cout
    b = "{p}b" if bias is not None else "NULL"
    ref = f"tinyml_conv2d_1x1_s8(&{{p}}params, {{p}}x, {{p}}f, {b}, out_ref, scratch);"
    size_fn, misalign, overlap = "tinyml_conv2d_1x1_s8_fast_scratch_size", spec["misalign"], spec["overlap"]
    if overlap is None:
        call = f"tinyml_conv2d_1x1_s8_fast(&{var_params}, {{p}}x, {{p}}f, {{p}}fb, out_var, sc);"
        return Case(name, decls, ref, _scratch_checked(size_fn, 4 * cin, misalign, call), out_bytes,
                    scratch_bytes=4 * cin + 8)
    work, in_off, out_off = overlapping_work(rng, x, cout, overlap, misalign)
    decls += const_array("{p}", "work", work)
    call = (f"tinyml_conv2d_1x1_s8_fast(&{var_params}, work + {in_off}, {{p}}f, {{p}}fb, work + {out_off}, sc);\n"
            f"        memcpy(out_var, work + {out_off}, {out_bytes});")
    return Case(name, decls, ref, _scratch_checked(size_fn, 4 * cin, misalign, call), out_bytes,
                scratch_bytes=4 * cin + 8, work_init="{p}work", work_bytes=work.size)


# ---- general CONV_2D ---------------------------------------------------------------

FILTER_BUDGET = 5000  # bytes of filter per case: 40 cases stay well inside the board's flash


@st.composite
def conv_spec(draw):
    cin = draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 40)))
    cout = draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 40)))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    while cout * kh * kw * cin > FILTER_BUDGET:
        if kh * kw > 1:
            kh, kw = max(1, kh - 1), max(1, kw - 1)
        else:
            cout = max(1, cout // 2)
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    span = ((kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1)
    pad = (draw(st.integers(0, span[0] - 1)), draw(st.integers(0, span[1] - 1)))
    extra = (draw(st.integers(0, span[0] - 1)), draw(st.integers(0, span[1] - 1)))  # bottom / right padding
    hw = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    return dict(cin=cin, cout=cout, k=(kh, kw), stride=stride, dilation=dilation, pad=pad, extra=extra, hw=hw,
                batch=draw(st.integers(1, 2)), misalign=draw(st.integers(0, 3)), bias=draw(BIAS),
                scale=draw(SCALE), quant=draw(quant_kind()), seed=draw(st.integers(0, 2**32 - 1)))


def conv_case(name: str, spec: dict, control: bool = False) -> Case:
    rng = np.random.default_rng(spec["seed"])
    cin, cout, (kh, kw), n = spec["cin"], spec["cout"], spec["k"], spec["batch"]
    (h, w), (sh, sw), (dh, dw) = spec["hw"], spec["stride"], spec["dilation"]
    (ph, pw), (eh, ew) = spec["pad"], spec["extra"]
    oh = max(1, (h + ph + eh - ((kh - 1) * dh + 1)) // sh + 1)
    ow = max(1, (w + pw + ew - ((kw - 1) * dw + 1)) // sw + 1)
    q = make_quant(rng, cout, spec["quant"])
    x = activations(rng, (n, h, w, cin), q, spec["scale"])
    f, bias, fb = weights_bias(rng, cout, (kh, kw, cin), q, spec["bias"], spec["scale"])
    params = Conv2DParams(Dims(n, h, w, cin), Dims(cout, kh, kw, cin), Dims(n, oh, ow, cout), Tile(sh, sw),
                          Tile(dh, dw), Tile(ph, pw), q.input_offset, q.output_offset, Activation(*q.act), q.rounding,
                          per_channel(q))
    decls, var_params = layer_case_decls(params, control, other_multiplier, x=x, f=f, fb=fb, b=bias)
    ref = f"tinyml_conv2d_s8(&{{p}}params, {{p}}x, {{p}}f, {'{p}b' if bias is not None else 'NULL'}, out_ref);"
    scratch = 2 * kh * kw * cin
    call = f"tinyml_conv2d_s8_fast(&{var_params}, {{p}}x, {{p}}f, {{p}}fb, out_var, sc);"
    return Case(name, decls, ref,
                _scratch_checked("tinyml_conv2d_s8_fast_scratch_size", scratch, spec["misalign"], call),
                n * oh * ow * cout, scratch_bytes=scratch + 8)


# ---- FULLY_CONNECTED ---------------------------------------------------------------

@st.composite
def fc_spec(draw):
    return dict(batches=draw(st.integers(1, 3)), depth=draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 300))),
                units=draw(st.one_of(st.sampled_from(CHANNELS), st.integers(1, 40))), per_channel=draw(st.booleans()),
                bias=draw(BIAS), scale=draw(SCALE), quant=draw(quant_kind()), seed=draw(st.integers(0, 2**32 - 1)))


def fc_case(name: str, spec: dict, control: bool = False) -> Case:
    rng = np.random.default_rng(spec["seed"])
    batches, depth, units = spec["batches"], spec["depth"], spec["units"]
    q = make_quant(rng, units, spec["quant"])
    x = activations(rng, (batches, depth), q, spec["scale"])
    w, bias, fb = weights_bias(rng, units, (depth,), q, spec["bias"], spec["scale"])
    rows = units if spec["per_channel"] else 1
    params = FullyConnectedParams(batches, depth, units, q.input_offset, 0, q.output_offset, Activation(*q.act),
                                  q.rounding, int(spec["per_channel"]),
                                  per_channel_quant(q.multiplier[:rows], q.shift[:rows]))
    decls, var_params = layer_case_decls(params, control, other_multiplier, x=x, w=w, fb=fb, b=bias)
    ref = f"tinyml_fully_connected_s8(&{{p}}params, {{p}}x, {{p}}w, {'{p}b' if bias is not None else 'NULL'}, out_ref);"
    var = f"tinyml_fully_connected_s8_fast(&{var_params}, {{p}}x, {{p}}w, {{p}}fb, out_var);"
    return Case(name, decls, ref, var, batches * units)


# ---- the tests ----------------------------------------------------------------------

CONTROL_QUANT = (-3, 0, (-128, 127), Rounding.DOUBLE, "control")


def _check(make, spec_strategy, control_spec: dict, data, tag: str) -> None:
    require_target(TARGET)
    specs = [data.draw(spec_strategy, label=f"{tag}{i}") for i in range(CASES)]
    # hypothesis tries the simplest example (40 equal minimal cases) first: skip it before building
    assume(len({repr(s) for s in specs}) > CASES // 2)
    cases = [make(f"{tag}{i} {spec}", spec) for i, spec in enumerate(specs)]
    control = make(f"control: {tag} with another multiplier", control_spec | {"quant": CONTROL_QUANT}, control=True)
    assert run_cases(cases + [control], TARGET) == [control.name]


@ONE_BUILD
@given(data=st.data())
def test_pointwise_mve_matches_reference(data):
    control = dict(cin=16, cout=8, shape=(1, 2, 3), overlap=None, misalign=1, bias="small", scale="full", seed=1)
    _check(pointwise_case, pointwise_spec(), control, data, "pw")


@ONE_BUILD
@given(data=st.data())
def test_conv_mve_matches_reference(data):
    control = dict(cin=5, cout=8, k=(3, 2), stride=(1, 2), dilation=(1, 1), pad=(1, 0), extra=(1, 0), hw=(4, 5),
                   batch=1, misalign=2, bias="small", scale="full", seed=2)
    _check(conv_case, conv_spec(), control, data, "conv")


@ONE_BUILD
@given(data=st.data())
def test_fully_connected_mve_matches_reference(data):
    control = dict(batches=2, depth=16, units=8, per_channel=True, bias="small", scale="full", seed=3)
    _check(fc_case, fc_spec(), control, data, "fc")


# ---- instructions per MAC (not part of the suite) -------------------------------------

def bench(reps: int = 4) -> None:
    """Instructions per MAC on qemu-an547, reference vs fast (SysTick ticks under -icount shift=0)."""
    rng = np.random.default_rng(1)
    decls, runs, layers = "", "", []
    out_max, scratch_max = 4, 4
    kind = (-3, -5, (-128, 127), Rounding.DOUBLE, "negative")
    for rounding in (Rounding.DOUBLE, Rounding.SINGLE):
        kind = kind[:3] + (rounding, "negative")
        # (name, input HWC, kernel, stride, pad, output channels); C_in % 16 != 0 takes the general im2col
        for name, (h, w, cin), (kh, kw), stride, pad, cout in [
                ("pw 25x5 64->64", (25, 5, 64), (1, 1), 1, 0, 64),
                ("conv 32x32 3x3 16->16", (32, 32, 16), (3, 3), 1, 1, 16),
                ("conv 16x16 3x3 8->16", (16, 16, 8), (3, 3), 1, 1, 16),
                ("conv 48x48 3x3/2 3->16", (48, 48, 3), (3, 3), 2, 1, 16)]:
            i = len(layers)
            q = make_quant(rng, cout, kind)
            x = rng.integers(-128, 128, (1, h, w, cin), dtype=np.int8)
            f, bias, fb = weights_bias(rng, cout, (kh, kw, cin), q, "small")
            oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
            params = Conv2DParams(Dims(1, h, w, cin), Dims(cout, kh, kw, cin), Dims(1, oh, ow, cout),
                                  Tile(stride, stride), Tile(1, 1), Tile(pad, pad), q.input_offset, q.output_offset,
                                  Activation(*q.act), q.rounding, per_channel(q))
            p = f"b{i}_"
            decls += layer_decl(p, params, x=x, f=f, fb=fb, b=bias)
            layers.append((f"{name} {rounding.name}", oh * ow * cin * cout * kh * kw))
            out_max, scratch_max = max(out_max, oh * ow * cout), max(scratch_max, 2 * kh * kw * cin)
            if kh == 1:
                calls = (f"tinyml_conv2d_1x1_s8(&{p}params, {p}x, {p}f, {p}b, out, scratch);",
                         f"tinyml_conv2d_1x1_s8_fast(&{p}params, {p}x, {p}f, {p}fb, out, scratch);")
            else:
                calls = (f"tinyml_conv2d_s8(&{p}params, {p}x, {p}f, {p}b, out);",
                         f"tinyml_conv2d_s8_fast(&{p}params, {p}x, {p}f, {p}fb, out, scratch);")
            for tag, call in zip(("ref", "fast"), calls):
                runs += timed_run(f"{i} {tag}", call, reps)
        for batches, depth, units in [(1, 400, 64), (2, 128, 32)]:
            i = len(layers)
            q = make_quant(rng, units, kind)
            x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
            wts, bias, fb = weights_bias(rng, units, (depth,), q, "small")
            params = FullyConnectedParams(batches, depth, units, q.input_offset, 0, q.output_offset,
                                          Activation(*q.act), q.rounding, 1, per_channel(q))
            p = f"b{i}_"
            decls += layer_decl(p, params, x=x, w=wts, fb=fb, b=bias)
            layers.append((f"fc {batches}x{depth}->{units} {rounding.name}", batches * depth * units))
            out_max = max(out_max, batches * units)
            runs += timed_run(f"{i} ref", f"tinyml_fully_connected_s8(&{p}params, {p}x, {p}w, {p}b, out);", reps)
            runs += timed_run(f"{i} fast", f"tinyml_fully_connected_s8_fast(&{p}params, {p}x, {p}w, {p}fb, out);",
                              reps)
    ticks, per_tick = bench_ticks(TARGET, bench_source(decls, {"out": out_max, "scratch": scratch_max}, runs))
    print(f"{TARGET} (1 tick = {per_tick:g} instructions, {reps} runs each)")
    for i, (name, macs) in enumerate(layers):
        ref = ticks[(i, "ref")] * per_tick / reps
        fast = ticks[(i, "fast")] * per_tick / reps
        print(f"  {name:32s} {macs:8d} MACs  ref {ref / macs:6.2f}  fast {fast / macs:5.3f} instructions/MAC"
              f"  ({ref / fast:4.1f}x)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["bench"]:
        bench()
    else:
        pytest.main([__file__, *sys.argv[1:]])
