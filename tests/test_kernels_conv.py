"""The fast CONV_2D kernel (runtime_c/src/conv2d_s8_fast.c) against the reference kernel
(conv2d_s8.c), which is the spec: bit-identical outputs on many generated layers, in one
build per target (tests/kernelcheck.py): on the host (portable C) and in QEMU with the
board's compiler flags: the SMLAD path on Cortex-M4 (qemu-an386) and M7 (qemu-an500); on the
Cortex-M55 (qemu-an547, integer Helium) the build links conv2d_s8_fast_mve.c instead.

Hypothesis draws every layer's geometry and quantization (kernel sizes 1-7 and 10x4, strides
1-3, dilations 1-2, VALID / SAME / arbitrary padding, channel counts around multiples of 4,
batches 1-2, zero points at their ends, per-channel multipliers and shifts in and out of the
fast requantization's range, narrow activations, both roundings, with and without bias) and
a seed for the tensors; one test call builds 40 such layers (4 x TINYML_EXAMPLES) plus a few
fixed ones (the KWS and VWW first layers, an IC-like 3x3x16 layer). Each variant call runs
with its input, output and scratch at odd addresses, a canary after the scratch it declared
(the variant's *_scratch_size() must equal the planner's mirror) and after its output, and
the harness compares every output byte. A deliberately corrupted case rides along in every
build and must be the only one reported.

`python tests/test_kernels_conv.py bench [target ...]` prints the instructions per MAC of an
IC-like 3x3x16 layer, the VWW stem and the KWS first layer, reference vs fast (SysTick ticks
around each call under -icount shift=0); test_conv_fast_instruction_counts checks a loose
bound of the same on the M4 and the M7."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernelcases import (
    WindowSpec,
    bias_vector,
    draw_padding,
    draw_window,
    drawn_cases,
    drawn_shifts,
    int8_data,
    layer_case_decls,
    multipliers,
    other_multipliers,
    out_size,
    per_channel_quant,
    same_padding,
    with_padding,
)
from kernelcheck import (
    ONE_BUILD,
    TARGETS,
    Case,
    bench_main,
    bench_source,
    bench_ticks,
    const_array,
    layer_decl,
    print_per_mac,
    profile_examples,
    require_target,
    run_cases,
    timed_run,
    with_output_flipped,
)

from tinyengine.core.fold import folded_bias, rq_table
from tinyengine.core.params import Activation, Conv2DParams, Dims, Rounding, Tile
from tinyengine.core.variants import VARIANTS, W16_CONV, widen_conv_weights

CHANNELS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31]
# the fast requantization covers shifts [-21, -2]: its ends, their neighbours, the contract's ends
EDGE_SHIFTS = [-31, -22, -21, -20, -3, -2, -1, 0, 1, 2, 30]
CANARY = 8  # bytes checked after the scratch and after the output
MAX_BYTES = 3000  # per tensor, so that 40+ layers fit the smallest board (512 KiB on the AN547)


@dataclass(frozen=True, kw_only=True)
class ConvSpec(WindowSpec):
    """One generated layer; `seed` makes its tensors. shifts "fast": all in [-12, -2], "mixed":
    [-12, 2], "edge": EDGE_SHIFTS; bias "big": accumulators near the int32 ends; data "uniform"
    or "extreme"; misalign: the input, output and scratch offsets."""

    cout: int

    def shape_tag(self) -> str:
        return f"n={self.n} {self.in_h}x{self.in_w}x{self.cin} -> {self.out_h}x{self.out_w}x{self.cout}"


@st.composite
def conv_specs(draw, kernel=None, channels=None) -> ConvSpec:
    kh, kw, stride, dilation = draw_window(draw, kernel)
    fits = [c for c in CHANNELS if c * kh * kw <= 400]
    cin, cout = channels or (draw(st.sampled_from(fits)), draw(st.sampled_from(CHANNELS)))
    n = draw(st.integers(1, 2))
    sizes, pads, outs = draw_padding(draw, kh, kw, stride, dilation, size_max=12, valid_extra=6)
    # keep every tensor small (many layers share one firmware)
    while max(n * sizes[0] * sizes[1] * cin, n * outs[0] * outs[1] * cout, cout * kh * kw * cin) > MAX_BYTES:
        cin, cout = max(1, cin // 2), max(1, cout // 2)
    act = draw(st.sampled_from(["full", "full", "narrow"]))
    out_off = draw(st.sampled_from([-128, 127, 0]) | st.integers(-128, 127))
    if act == "full":
        lo, hi = -128, 127
    else:
        lo = draw(st.integers(-128, 127))
        hi = draw(st.integers(lo, 127))
    return ConvSpec(
        n=n, in_h=sizes[0], in_w=sizes[1], cin=cin, cout=cout, kh=kh, kw=kw, stride=stride, dilation=dilation,
        pad=(pads[0], pads[1]), out_h=outs[0], out_w=outs[1],
        input_offset=draw(st.sampled_from([-127, 128, 0]) | st.integers(-127, 128)), output_offset=out_off,
        act=(lo, hi), rounding=draw(st.sampled_from([Rounding.DOUBLE, Rounding.SINGLE])),
        shifts=draw(st.sampled_from(["fast", "fast", "mixed", "edge"])),
        bias=draw(st.sampled_from(["small", "small", "none", "big"])),
        data=draw(st.sampled_from(["uniform", "uniform", "uniform", "extreme"])),
        misalign=(draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))),
        seed=draw(st.integers(0, 2**32 - 1)))


# ---- a generated layer as a kernelcheck case ------------------------------------

def _tensors(spec: ConvSpec):
    rng = np.random.default_rng(spec.seed)
    x = int8_data(rng, (spec.n, spec.in_h, spec.in_w, spec.cin), spec.data)
    f = int8_data(rng, (spec.cout, spec.kh, spec.kw, spec.cin), spec.data)
    m = multipliers(rng, spec.cout, 0.2)
    depth = spec.kh * spec.kw * spec.cin
    # shifts about what the patch length calls for, so that outputs spread over the int8 range
    shift = drawn_shifts(rng, spec.shifts, spec.cout, EDGE_SHIFTS, depth, centre=9, top=-2)
    # a big bias: as far from zero as the reference's int32 sum allows
    bias = bias_vector(rng, spec.bias, spec.cout, room=(1 << 31) - 1 - depth * 128 * 256)
    return x, f, bias, m.astype(np.int32), shift.astype(np.int32)


def _params(spec: ConvSpec, m: np.ndarray, shift: np.ndarray) -> Conv2DParams:
    return Conv2DParams(
        Dims(spec.n, spec.in_h, spec.in_w, spec.cin), Dims(spec.cout, spec.kh, spec.kw, spec.cin),
        Dims(spec.n, spec.out_h, spec.out_w, spec.cout), Tile(*spec.stride), Tile(*spec.dilation), Tile(*spec.pad),
        spec.input_offset, spec.output_offset, Activation(*spec.act), spec.rounding, per_channel_quant(m, shift))


# the fast variants (tinyengine.core.variants): their C functions and scratch rules
FAST = {v.kernel: v for v in VARIANTS["CONV_2D"] if v.fast and v.kernel.startswith("tinyml_conv2d_s8_fast")}
NARROW, WIDE, W16 = "tinyml_conv2d_s8_fast", "tinyml_conv2d_s8_fast_wide", "tinyml_conv2d_s8_fast_w16"


def conv_case(spec: ConvSpec, name: str, corrupt: bool = False, kernel: str = NARROW) -> Case:
    """The reference and the fast `kernel` on one layer. The fast call gets the folded bias,
    its input copied to `work` + misalign[0], its output at out_var + misalign[1] and its
    scratch at scratch + misalign[2]; the bytes before the output and CANARY bytes after the
    output and after the declared scratch must keep their values. `corrupt`: the fast call
    gets the multiplier of channel 0 changed (a negative control)."""
    x, f, bias, m, shift = _tensors(spec)
    params = _params(spec, m, shift)
    fb = folded_bias(bias, f, spec.input_offset, channel_axis=0)
    decls, var_params = layer_case_decls(params, corrupt, x=x, f=f, fb=fb, b=bias)
    weights = "{p}f, {p}fb"
    if kernel == W16:   # the int16 weights and the requantization table, as the compiler makes them
        decls += const_array("{p}", "f16", widen_conv_weights(f))
        decls += const_array("{p}", "rq", rq_table(other_multipliers(m) if corrupt else m, shift, spec.output_offset))
        weights = "{p}f16, {p}fb, {p}rq"
    io, oo, so = spec.misalign
    in_bytes, out_n = x.size, spec.n * spec.out_h * spec.out_w * spec.cout
    scratch = FAST[kernel].scratch_bytes(params)
    out_bytes = oo + out_n + CANARY
    bias_arg = "{p}b" if bias is not None else "NULL"
    before = f"memset(out_ref, 0x11, {oo});" if oo else ""
    ref = (f"memcpy(work + {io}, {{p}}x, {in_bytes});\n"
           f"    tinyml_conv2d_s8(&{{p}}params, work + {io}, {{p}}f, {bias_arg}, out_ref + {oo});\n"
           f"    {before}\n"
           f"    memset(out_ref + {oo + out_n}, 0x3C, {CANARY});")
    var = ("{\n"
           f"        int8_t *const sc = scratch + {so};\n"
           f"        memcpy(work + {io}, {{p}}x, {in_bytes});\n"
           f"        {before.replace('out_ref', 'out_var')}\n"
           f"        memset(out_var + {oo + out_n}, 0x3C, {CANARY});\n"
           f"        memset(sc, 0x77, {scratch});\n"
           f"        memset(sc + {scratch}, 0x3C, {CANARY});\n"
           f"        {kernel}(&{var_params}, work + {io}, {weights}, out_var + {oo}, sc);\n"
           f"        for (int k = 0; k < {CANARY}; ++k) if (sc[{scratch} + k] != 0x3C) out_var[{oo}] ^= 0x55;\n"
           f"        if ({kernel}_scratch_size(&{{p}}params) != {scratch}) out_var[{oo}] ^= 0x66;\n"
           "    }")
    return Case(name, decls, ref, var, out_bytes, scratch_bytes=so + scratch + CANARY, work_bytes=io + in_bytes)


# the first layers the issue names, and an IC-like body layer, SAME padded
FIXED = {
    "kws 49x10x1 10x4 s2": dict(n=1, in_h=49, in_w=10, cin=1, cout=16, kh=10, kw=4, stride=(2, 2)),
    "vww stem 24x24x3 3x3 s2": dict(n=1, in_h=24, in_w=24, cin=3, cout=8, kh=3, kw=3, stride=(2, 2)),
    "ic 8x8x16 3x3": dict(n=1, in_h=8, in_w=8, cin=16, cout=16, kh=3, kw=3, stride=(1, 1)),
    "stem 14x14x3 7x7 s2": dict(n=2, in_h=14, in_w=14, cin=3, cout=5, kh=7, kw=7, stride=(2, 2)),
    "dilated 9x9x4 3x3 d2": dict(n=1, in_h=9, in_w=9, cin=4, cout=6, kh=3, kw=3, stride=(1, 1), dilation=(2, 2)),
    # int16-weight shapes (C_in % 4 == 0, patch % 8 == 0, C_out even): IC's body and stride-2 layers
    "ic 7x9x8 3x3 s2": dict(n=2, in_h=7, in_w=9, cin=8, cout=10, kh=3, kw=3, stride=(2, 2)),
    "dilated 9x9x8 3x3 d2": dict(n=1, in_h=9, in_w=9, cin=8, cout=6, kh=3, kw=3, stride=(1, 1), dilation=(2, 2)),
    "2x2 5x5x4": dict(n=1, in_h=5, in_w=5, cin=4, cout=2, kh=2, kw=2, stride=(1, 1)),
}


def _kernels(spec: ConvSpec) -> tuple[str, ...]:
    """The fast variants a layer runs: both column layouts, and the int16 weights where they apply."""
    shapes = _params(spec, np.zeros(spec.cout, np.int32), np.zeros(spec.cout, np.int32))
    return (NARROW, WIDE, W16) if W16_CONV.holds(shapes) else (NARROW, WIDE)


def conv_cases(data, count: int) -> list[Case]:
    """The fixed layers and `count` drawn ones, each run by both fast variants (int8 and
    widened columns)."""
    cases = []
    for i, (tag, geometry) in enumerate(FIXED.items()):
        base = data.draw(conv_specs(kernel=(geometry["kh"], geometry["kw"]), channels=(1, 1)))
        spec = with_padding(base, **{"dilation": (1, 1), "act": (-128, 127) if i % 2 else base.act, **geometry})
        for kernel in _kernels(spec):
            cases.append(conv_case(spec, f"conv{len(cases)} {tag} {kernel}: {spec.tag()}", kernel=kernel))

    def both(spec: ConvSpec, name: str) -> list[Case]:
        return [conv_case(spec, f"{name} {kernel}", kernel=kernel) for kernel in _kernels(spec)]
    drawn = drawn_cases(data, conv_specs(), both, "conv", len(cases), count)
    return cases + [case for pair in drawn for case in pair]


# ---- the tests ----------------------------------------------------------------

# generated layers per build: 2 x the profile's examples, each run by both variants
COUNT = 2 * profile_examples()
# the negative control's layer: outputs spread over the int8 range, so another multiplier shows
CONTROL = with_padding(ConvSpec(
    n=1, in_h=6, in_w=5, cin=3, cout=4, kh=3, kw=3, stride=(1, 1), dilation=(1, 1), pad=(0, 0), out_h=0, out_w=0,
    input_offset=-5, output_offset=3, act=(-128, 127), rounding=Rounding.DOUBLE, shifts="fast", bias="small",
    data="uniform", misalign=(1, 2, 3), seed=11))

W16_CONTROL = with_padding(CONTROL, cin=8)


@pytest.mark.parametrize("target", TARGETS)
@ONE_BUILD
@given(data=st.data())
def test_conv_fast_matches_reference(target, data):
    """The fixed and COUNT drawn layers bit-exact, and only the control reported."""
    require_target(target)
    cases = conv_cases(data, COUNT)
    control = conv_case(CONTROL, "control: another multiplier", corrupt=True)
    wide_control = conv_case(CONTROL, "control (wide): another multiplier", corrupt=True, kernel=WIDE)
    w16_control = conv_case(W16_CONTROL, "control (w16): another multiplier", corrupt=True, kernel=W16)
    assert (run_cases(cases + [control, wide_control, w16_control], target)
            == [control.name, wide_control.name, w16_control.name])


def test_harness_reports_corrupted_conv_cases():
    """Negative control on the host: a fast call with another multiplier and one that leaves an
    output byte wrong are reported; their correct twins in the same build are not."""
    spec = CONTROL
    good = conv_case(spec, "good")
    bad = conv_case(spec, "another multiplier", corrupt=True)
    flipped = with_output_flipped(conv_case(dataclasses.replace(spec, seed=12), "one output byte flipped"), 9)
    assert run_cases([good, bad, flipped], "host") == ["another multiplier", "one output byte flipped"]


# ---- instruction counts ----------------------------------------------------------

# (name, n, h, w, cin, cout, (kh, kw), stride): SAME padding
BENCH_LAYERS = [("IC-like 32x32x16 -> 16, 3x3 s1", 1, 32, 32, 16, 16, (3, 3), 1),
                ("VWW stem 96x96x3 -> 48x48x8, 3x3 s2", 1, 96, 96, 3, 8, (3, 3), 2),
                ("KWS 49x10x1 -> 25x5x64, 10x4 s2", 1, 49, 10, 1, 64, (10, 4), 2)]


def instructions_per_mac(target: str) -> list[tuple[str, float, float, float]]:
    """(layer, reference, fast, fast wide) instructions per MAC of BENCH_LAYERS on `target`, from the
    SysTick ticks around each call (under -icount shift=0 a tick is 1e9 / clock_hz
    instructions); the mean over both roundings."""
    rng = np.random.default_rng(3)
    decls, runs, layers, out_max, scratch_max = "", "", [], 4, 4
    for li, (_, n, h, w, cin, cout, (kh, kw), stride) in enumerate(BENCH_LAYERS):
        (pt, pb), (pl, pr) = same_padding(h, kh, stride, 1), same_padding(w, kw, stride, 1)
        oh, ow = out_size(h, kh, stride, 1, pt, pb), out_size(w, kw, stride, 1, pl, pr)
        for rounding in (Rounding.DOUBLE, Rounding.SINGLE):
            i = len(layers)
            x = rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8)
            f = rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8)
            bias = rng.integers(-5000, 5000, cout, dtype=np.int32)
            params = Conv2DParams(Dims(n, h, w, cin), Dims(cout, kh, kw, cin), Dims(n, oh, ow, cout),
                                  Tile(stride, stride), Tile(1, 1), Tile(pt, pl), -7, -3, Activation(-128, 127),
                                  rounding, per_channel_quant(rng.integers(1 << 30, 1 << 31, cout).astype(np.int32),
                                                              rng.integers(-10, -6, cout).astype(np.int32)))
            p = f"b{i}_"
            decls += layer_decl(p, params, x=x, f=f, b=bias, fb=folded_bias(bias, f, -7, channel_axis=0))
            layers.append((li, n * oh * ow * cout * kh * kw * cin))
            out_max = max(out_max, n * oh * ow * cout)
            scratch_max = max(scratch_max, *(v.scratch_bytes(params) for v in FAST.values()))
            runs += timed_run(f"{i} ref", f"tinyml_conv2d_s8(&{p}params, {p}x, {p}f, {p}b, out);")
            runs += timed_run(f"{i} fast", f"tinyml_conv2d_s8_fast(&{p}params, {p}x, {p}f, {p}fb, out, scratch);")
            runs += timed_run(f"{i} wide", f"{WIDE}(&{p}params, {p}x, {p}f, {p}fb, out, scratch);")
    ticks, per_tick = bench_ticks(target, bench_source(decls, {"out": out_max, "scratch": scratch_max}, runs))
    result = []
    for li, layer in enumerate(BENCH_LAYERS):
        runs_of = [(i, macs) for i, (lj, macs) in enumerate(layers) if lj == li]
        ref, fast, wide = (sum(ticks[(i, kind)] * per_tick / macs for i, macs in runs_of) / len(runs_of)
                           for kind in ("ref", "fast", "wide"))
        result.append((layer[0], ref, fast, wide))
    return result


@pytest.mark.parametrize("target", ["qemu-an386", "qemu-an500"])
def test_conv_fast_instruction_counts(target):
    """A loose guard of the measured speed (deterministic under -icount): both fast variants
    need at most a quarter of the reference's instructions, 1.8 per MAC on the 3x3x16 layer
    (about 1.6 when this was written), and the wide one fewer than the int8 one there."""
    require_target(target)
    counts = instructions_per_mac(target)
    (_, ic_ref, ic_fast, ic_wide) = counts[0]
    assert ic_fast < 1.8 and ic_fast < 0.25 * ic_ref and ic_wide < ic_fast, counts
    assert all(fast < 0.25 * ref and wide < 0.25 * ref for _, ref, fast, wide in counts), counts


def bench(targets: list[str]) -> None:
    for target in targets:
        counts = instructions_per_mac(target)
        print_per_mac(target, [(name, ref, fast) for name, ref, fast, _ in counts], 38)
        print_per_mac(f"{target}, wide columns", [(name, ref, wide) for name, ref, _, wide in counts], 38)


if __name__ == "__main__":
    bench_main(sys.argv, __doc__, bench, ["qemu-an386", "qemu-an500"])
