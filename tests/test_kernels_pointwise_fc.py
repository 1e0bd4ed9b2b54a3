"""The fast pointwise CONV_2D and FULLY_CONNECTED kernels (runtime_c/src/conv2d_1x1_s8_fast.c, with
its int16-weight build tinyml_conv2d_1x1_s8_fast_w16 and the weights widened by
tinyengine.core.variants.widen_conv_weights; fully_connected_s8_fast.c) against their
reference kernels, which are the spec: bit-identical
outputs on many generated cases, in one build per target and test (tests/kernelcheck.py): on the
host (portable C) and in QEMU with the board's compiler flags: the SMLAD paths on qemu-an386
(Cortex-M4) and qemu-an500 (Cortex-M7); on qemu-an547 (Cortex-M55) the Helium pointwise build
(conv2d_1x1_s8_fast_mve.c) and the SMLAD fully connected one.

Cases: channel counts 1 .. 33 around the 4- and 8-channel blocking (1, 2, 3, 4, 5, 7, 8, 9, 12,
16, 17, 20, 31, 33) and random ones up to 300, odd and even pixel counts, 1-4 batches, input
offsets in [-127, 128] (the ends too), output offsets in [-128, 127], multipliers in [2^30, 2^31)
(and its ends), shifts in [-12, 2] or all inside the fast requantization's [-21, -2], or at and
beyond its ends and the contract's (-31, 30), or (most cases) fitted to the layer's accumulators
so that the outputs spread over int8 rather than saturate (with narrow data too: small
accumulators and shifts, so rounding ties come up often), accumulators near the int32 ends, activation
ranges narrower than int8, both roundings, with and without bias, per-tensor and per-channel
(fully connected). The pointwise kernel also runs in place: input and output inside one writable
buffer at offsets up to the overlap rule's limit (the expected output is the reference's, run
out of place), and with its scratch misaligned. Every variant call checks that it writes nothing
past its output (4 canary bytes), nothing in the shared buffer but its output, and (pointwise)
nothing past its declared scratch size.

Every run carries one deliberately wrong call (another multiplier), which must be the only
mismatch reported, so a harness that compares nothing cannot pass;
test_harness_reports_corrupted_cases checks the same on the host in detail.

Not part of the suite: `python tests/test_kernels_pointwise_fc.py bench [target ...]` counts the
instructions of KWS-like pointwise layers (25x5x64 -> 64 and others) and fully connected layers,
reference vs fast (SysTick ticks under -icount shift=0)."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
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

from tinyengine.core.fold import folded_bias, rq_table
from tinyengine.core.params import Activation, Conv2DParams, Dims, FullyConnectedParams, PerChannelQuant, Rounding, Tile
from tinyengine.core.variants import VARIANTS, widen_conv_weights, widen_fc_weights

# the fast pointwise variant, whose scratch rule sizes the cases' scratch
_PW_FAST = next(v for v in VARIANTS["CONV_2D"] if v.kernel == "tinyml_conv2d_1x1_s8_fast")

# channel counts every run covers: 1, multiples of 4 and 8, and their neighbours
CHANNELS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 20, 31, 33]
# the fast requantization covers shifts [-21, -2]: its ends and neighbours, and the contract's ends
EDGE_SHIFTS = [-31, -22, -21, -20, -3, -2, -1, 0, 1, 2, 30]
POINTWISE_CASES = 120
FC_CASES = 70
CANARY = 4  # bytes after each output that no call may write


# the name the @given tests' bodies use: with more than one example per run (TINYML_EXAMPLES >= 20)
# hypothesis draws the later seeds from a hash of a test's source, so renaming it there would draw
# other cases
_require = require_target


@dataclass(frozen=True)
class Quant(OutputQuant):
    """The output side of a generated layer."""

    # "fit": replace the shifts by ones that bring the layer's outputs into the int8 range (most
    # often within the fast requantization's range), "fast": always within it
    fit: str = ""

    def tag(self) -> str:
        return (f"io={self.input_offset} oo={self.output_offset} act={self.act[0]}..{self.act[1]} "
                f"{self.rounding.name} shifts={int(self.shift.min())}..{int(self.shift.max())}")


def _quant(rng: np.random.Generator, channels: int, edge: bool = False) -> Quant:
    m = multipliers(rng, channels, 0.15, ends=(1 << 30, (1 << 31) - 1, (1 << 30) + 1))
    if edge:
        shift = rng.choice(EDGE_SHIFTS, channels)
    elif rng.random() < 0.6:  # the common case: every channel in the fast range
        shift = rng.integers(-12, -1, channels)
    else:
        shift = rng.integers(-12, 3, channels)
    off = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    lo = int(rng.choice([-128, -128, off if off < 127 else -128, int(rng.integers(-128, 0))]))
    hi = int(rng.choice([127, 127, int(rng.integers(lo, 128)), min(127, lo + 40)]))
    io = int(rng.choice([-127, 128, 0, int(rng.integers(-127, 129))]))
    rounding = Rounding.DOUBLE if rng.random() < 0.5 else Rounding.SINGLE
    fit = "fit" if not edge and rng.random() < 0.7 else ""
    return Quant(io, off, (lo, hi), rounding, m.astype(np.int32), shift.astype(np.int32), fit)


def _rounding_quant(rng: np.random.Generator, channels: int, rounding: Rounding) -> Quant:
    """For the cases that aim at the requantization's last bits: fitted shifts in the fast range,
    an output offset near 0, no clamping."""
    return dataclasses.replace(_quant(rng, channels), output_offset=int(rng.integers(-20, 21)), act=(-128, 127),
                               rounding=rounding, fit="fast")


def _fitted(rng: np.random.Generator, q: Quant, acc: np.ndarray) -> Quant:
    """q with (if q.fit) each channel's shift chosen so that its mean |accumulator| maps to about
    +-40 (jittered by one), so the outputs spread over int8 instead of saturating and the
    requantization's rounding is what the comparison sees. acc: [outputs, channels], exact."""
    if not q.fit:
        return q
    typical = np.abs(acc).mean(axis=0) + 1.0
    shift = np.round(np.log2(40.0 / (typical * q.multiplier / 2.0**31))) + rng.integers(-1, 2, typical.size)
    # mostly within the fast requantization's range (a layer with one channel outside takes tm_mbqm)
    lo, hi = (-21, -2) if q.fit == "fast" or rng.random() < 0.8 else (-31, 30)
    return dataclasses.replace(q, shift=np.clip(shift, lo, hi).astype(np.int32))


def _tables(q: Quant, channels: int | None = None) -> PerChannelQuant:
    """The quantization tables (the first `channels` entries)."""
    return per_channel_quant(q.multiplier[:channels], q.shift[:channels])


def _inputs(rng: np.random.Generator, shape: tuple[int, ...], q: Quant, narrow: bool) -> np.ndarray:
    """int8 inputs: anywhere, or (narrow) within 15 of the zero point, so that with narrow
    weights the accumulators are small and fitted shifts small too (about -2 .. -7): the last
    bits of the requantization, where the two roundings differ, then decide many outputs."""
    if not narrow:
        return rng.integers(-128, 128, shape, dtype=np.int8)
    return np.clip(-q.input_offset + rng.integers(-15, 16, shape), -128, 127).astype(np.int8)


def _weights_bias(rng: np.random.Generator, rows: int, depth: int, q: Quant, bias_kind: str, narrow: bool = False):
    w = rng.integers(-15, 16, (rows, depth), dtype=np.int8) if narrow else rng.integers(-127, 128, (rows, depth),
                                                                                        dtype=np.int8)
    if rng.random() < 0.1:
        w[:] = rng.choice([-127, 127])
    if narrow and bias_kind != "none":
        bias = rng.integers(-256, 257, rows, dtype=np.int32)
    else:
        # a big one: accumulators near the int32 ends (the requantization's edges), never overflowing:
        # the reference's sum((x + io) * w) and the fast kernels' partial sums stay within int32
        room = (1 << 31) - 1 - depth * 255 * 128 - abs(q.input_offset) * 127 * depth
        bias = bias_vector(rng, bias_kind, rows, room)
    return w, bias, folded_bias(bias, w, q.input_offset, channel_axis=0)


def _accumulators(x: np.ndarray, w: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """The exact int32 accumulators: x [rows, depth] against w [units, depth], plus the folded bias."""
    return x.astype(np.int64) @ w.astype(np.int64).T + fb.astype(np.int64)


def _guarded(out_bytes: int, call: str) -> tuple[str, str]:
    """(ref epilogue, var statement): the variant's call with CANARY bytes after its output set
    beforehand; the reference side writes the same bytes, so a variant that overwrites one
    mismatches."""
    return (f" memset(out_ref + {out_bytes}, 0x77, {CANARY});",
            f"memset(out_var + {out_bytes}, 0x77, {CANARY});\n    {call}")


# ---- pointwise CONV_2D ------------------------------------------------------

def pointwise_case(rng: np.random.Generator, name: str, cin: int, cout: int, shape: tuple[int, int, int],
                   q: Quant, bias_kind: str = "small", overlap: int | None = None, misalign: int = 0,
                   control: bool = False, narrow: bool | None = None, w16: bool = False) -> Case:
    """One pointwise layer, input NHWC `shape` + (cin,). `overlap`: run the variant inside the
    `work` buffer with output - input == overlap bytes (within the kernel's rule); the reference
    runs out of place. `misalign` offsets the variant's scratch (and both buffers in `work`).
    `control`: call the variant with another multiplier table. `narrow`: see _inputs (default:
    sometimes, when q.fit). `w16`: the variant is tinyml_conv2d_1x1_s8_fast_w16 with the weights
    widened as the compiler widens them (C_in % 8 == 0, C_out even)."""
    n, h, w = shape
    pixels = n * h * w
    if narrow is None:
        narrow = bool(q.fit) and bias_kind != "big" and rng.random() < 0.4
    x = _inputs(rng, (n, h, w, cin), q, narrow)
    f, bias, fb = _weights_bias(rng, cout, cin, q, bias_kind, narrow)
    q = _fitted(rng, q, _accumulators(x.reshape(pixels, cin), f, fb))
    params = Conv2DParams(Dims(n, h, w, cin), Dims(cout, 1, 1, cin), Dims(n, h, w, cout), Tile(1, 1), Tile(1, 1),
                          Tile(0, 0), q.input_offset, q.output_offset, Activation(*q.act), q.rounding, _tables(q))
    decls, var_params = layer_case_decls(params, control, x=x, f=f.reshape(cout, 1, 1, cin), fb=fb, b=bias)
    kernel, weights = "tinyml_conv2d_1x1_s8_fast", "{p}f"
    if w16:
        decls += const_array("{p}", "f16", widen_conv_weights(f.reshape(cout, 1, 1, cin)))
        decls += const_array("{p}", "rq", rq_table(q.multiplier, q.shift, q.output_offset))
        kernel, weights = "tinyml_conv2d_1x1_s8_fast_w16", "{p}f16, {p}fb, {p}rq"
    else:
        weights += ", {p}fb"
    out_bytes = pixels * cout
    ref = (f"tinyml_conv2d_1x1_s8(&{{p}}params, {{p}}x, {{p}}f, {'{p}b' if bias is not None else 'NULL'}, "
           f"out_ref, scratch);")
    scratch = (f"int8_t *sc = scratch + {misalign};\n"
               f"        const size_t n = {kernel}_scratch_size(&{{p}}params);\n"
               f"        memset(sc + n, 0x77, {CANARY});\n")
    scratch_check = f"        for (size_t k = n; k < n + {CANARY}; ++k) if (sc[k] != 0x77) out_var[0] ^= 0x55;\n"
    scratch_bytes = _PW_FAST.scratch_bytes(params) + 3 + CANARY
    if overlap is None:
        epilogue, var = _guarded(out_bytes, f"{kernel}(&{var_params}, {{p}}x, {weights}, out_var, sc);")
        var = "{\n        " + scratch + "        " + var.replace("\n    ", "\n        ") + "\n" + scratch_check
        return Case(name, decls, ref + epilogue, var + "    }", out_bytes + CANARY, scratch_bytes=scratch_bytes)
    work, in_off, out_off = overlapping_work(rng, x, cout, overlap, misalign)
    size = work.size
    decls += const_array("{p}", "work", work)
    # the output lands in work; every other byte of work must keep its initial value
    out_end = out_off + out_bytes
    var = ("{\n        " + scratch
           + f"        {kernel}(&{var_params}, work + {in_off}, {weights}, work + {out_off}, sc);\n"
           f"        memcpy(out_var, work + {out_off}, {out_bytes});\n"
           f"        for (int k = 0; k < {size}; ++k)\n"
           f"            if ((k < {out_off} || k >= {out_end}) && work[k] != {{p}}work[k]) out_var[0] ^= 0x33;\n"
           + scratch_check + "    }")
    return Case(name, decls, ref, var, out_bytes, scratch_bytes=scratch_bytes, work_init="{p}work", work_bytes=size)


def pointwise_cases(seed: int, count: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []

    def add(tag: str, cin: int, cout: int, shape, q: Quant, **kw) -> None:
        name = f"pw{len(cases)} {tag} cin={cin} cout={cout} nhw={shape} {q.tag()} {kw}"
        cases.append(pointwise_case(rng, name, cin, cout, shape, q, **kw))

    # every listed channel count as C_in and as C_out, pixel counts odd and even, 1 or 2 batches
    for i, c in enumerate(CHANNELS):
        other = int(rng.choice(CHANNELS))
        shape = (1, int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        add("cin", c, other, shape, _quant(rng, other), bias_kind=["small", "none"][i % 2])
        add("cout", other, c, (2, 1, int(rng.integers(1, 4))), _quant(rng, c), misalign=i % 4)
    # requantization edges: shifts at and beyond the ends of the fast range, huge accumulators
    for cin, cout in [(8, 6), (17, 3), (5, 9), (32, 16)]:
        add("edge-shift", cin, cout, (1, 3, 1), _quant(rng, cout, edge=True), bias_kind="big")
        add("big-acc", cin, cout, (1, 2, 3), _quant(rng, cout), bias_kind="big")
    # the last bits of the requantization: small accumulators, small shifts, many outputs
    for i, (cin, cout, shape) in enumerate([(16, 16, (1, 4, 4)), (8, 24, (1, 5, 3)), (32, 8, (2, 3, 3)),
                                            (13, 10, (1, 7, 1))]):
        for rounding in Rounding:
            add("rounding", cin, cout, shape, _rounding_quant(rng, cout, rounding), narrow=True, misalign=i % 2)
    # overlap: output at the rule's limit, in place, and before the input
    for cin, cout, shape in [(8, 8, (1, 3, 3)), (16, 8, (1, 5, 1)), (17, 5, (1, 2, 2)), (4, 12, (1, 3, 1)),
                             (5, 7, (1, 2, 3)), (32, 31, (1, 1, 3)), (3, 3, (1, 1, 1)), (24, 40, (2, 2, 1)),
                             (64, 64, (1, 3, 1))]:
        limit = pointwise_overlap_limit(cin, cout, int(np.prod(shape)))
        for d in sorted({limit, min(limit, 0), limit - 5}):
            add("overlap", cin, cout, shape, _quant(rng, cout), overlap=d, misalign=int(rng.integers(0, 4)))
    # the int16-weight variant (C_in % 8 == 0, C_out even): odd and even pixel counts, every
    # requantization path, in place, misaligned scratch (its portable loop)
    for i, (cin, cout, shape) in enumerate([(8, 16, (1, 3, 3)), (16, 8, (1, 5, 1)), (64, 64, (1, 3, 1)),
                                            (32, 2, (2, 1, 3)), (8, 2, (1, 1, 1)), (24, 40, (2, 2, 1)),
                                            (256, 16, (1, 3, 3)), (40, 6, (1, 4, 2))]):
        add("w16", cin, cout, shape, _quant(rng, cout), w16=True, misalign=i % 4, bias_kind=["small", "none"][i % 2])
        add("w16-edge", cin, cout, shape, _quant(rng, cout, edge=True), w16=True, bias_kind="big")
        add("w16-rounding", cin, cout, shape, _rounding_quant(rng, cout, list(Rounding)[i % 2]), w16=True,
            narrow=True)
        limit = pointwise_overlap_limit(cin, cout, int(np.prod(shape)))
        add("w16-overlap", cin, cout, shape, _quant(rng, cout), w16=True, overlap=min(limit, limit - i),
            misalign=int(rng.integers(0, 4)))
    # the rest random
    while len(cases) < count:
        cin, cout = int(rng.integers(1, 70)), int(rng.integers(1, 70))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        pixels = int(np.prod(shape))
        kw = {"bias_kind": str(rng.choice(["small", "small", "none", "big"])), "misalign": int(rng.integers(0, 4))}
        if rng.random() < 0.3:
            limit = pointwise_overlap_limit(cin, cout, pixels)
            kw["overlap"] = int(limit - rng.integers(0, 3 * max(cin, cout)))
        add("random", cin, cout, shape, _quant(rng, cout), **kw)
    return cases


# ---- FULLY_CONNECTED ----------------------------------------------------------

def fc_case(rng: np.random.Generator, name: str, batches: int, depth: int, units: int, q: Quant, per_channel: bool,
            bias_kind: str = "small", control: bool = False, narrow: bool | None = None, w16: bool = False) -> Case:
    """`w16`: the variant is tinyml_fully_connected_s8_fast_w16 with the weights widened as the
    compiler widens them (depth % 8 == 0, units % 4 == 0)."""
    if narrow is None:
        narrow = bool(q.fit) and bias_kind != "big" and rng.random() < 0.4
    x = _inputs(rng, (batches, depth), q, narrow)
    w, bias, fb = _weights_bias(rng, units, depth, q, bias_kind, narrow)
    q = _fitted(rng, q, _accumulators(x, w, fb))
    if not per_channel:  # one pair for all units: the first unit's
        q = dataclasses.replace(q, multiplier=np.resize(q.multiplier[:1], units), shift=np.resize(q.shift[:1], units))
    channels = None if per_channel else 1
    params = FullyConnectedParams(batches, depth, units, q.input_offset, 0, q.output_offset, Activation(*q.act),
                                  q.rounding, int(per_channel), _tables(q, channels))
    decls, var_params = layer_case_decls(params, control, x=x, w=w, fb=fb, b=bias)
    out_bytes = batches * units
    ref = f"tinyml_fully_connected_s8(&{{p}}params, {{p}}x, {{p}}w, {'{p}b' if bias is not None else 'NULL'}, out_ref);"
    kernel, weights = "tinyml_fully_connected_s8_fast", "{p}w"
    if w16:
        decls += const_array("{p}", "w16", widen_fc_weights(w))
        kernel, weights = "tinyml_fully_connected_s8_fast_w16", "{p}w16"
    epilogue, var = _guarded(out_bytes, f"{kernel}(&{var_params}, {{p}}x, {weights}, {{p}}fb, out_var);")
    return Case(name, decls, ref + epilogue, var, out_bytes + CANARY)


def fc_cases(seed: int, count: int) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []

    def add(tag: str, batches: int, depth: int, units: int, q: Quant, per_channel: bool, **kw) -> None:
        name = f"fc{len(cases)} {tag} b={batches} depth={depth} units={units} pc={per_channel} {q.tag()} {kw}"
        cases.append(fc_case(rng, name, batches, depth, units, q, per_channel, **kw))

    # every listed count as depth and as units, 1-3 batches, per-channel and per-tensor
    for i, c in enumerate(CHANNELS):
        other = int(rng.choice(CHANNELS))
        add("depth", int(rng.integers(1, 4)), c, other, _quant(rng, other), i % 2 == 0,
            bias_kind=["small", "none"][i % 2])
        add("units", int(rng.integers(1, 4)), other, c, _quant(rng, c), i % 2 == 1)
    for depth, units in [(8, 6), (17, 3), (64, 12), (5, 9)]:
        add("edge-shift", 2, depth, units, _quant(rng, units, edge=True), True, bias_kind="big")
        add("edge-shift-tensor", 1, depth, units, _quant(rng, units, edge=True), False, bias_kind="big")
    # the last bits of the requantization: small accumulators, small shifts, many outputs
    for batches, depth, units, per_channel in [(4, 16, 40, True), (4, 24, 36, False), (3, 40, 32, True),
                                               (4, 8, 64, False)]:
        for rounding in Rounding:
            add("rounding", batches, depth, units, _rounding_quant(rng, units, rounding), per_channel, narrow=True)
    # long rows, many units (several accumulator blocks)
    add("large", 1, 400, 70, _quant(rng, 70), True)
    add("large-tensor", 2, 256, 36, _quant(rng, 36), False)
    # the int16-weight variant: several accumulator blocks, every requantization path, 1-3 batches
    for i, (batches, depth, units) in enumerate([(1, 8, 4), (2, 640, 12), (1, 128, 40), (3, 16, 8), (1, 256, 36),
                                                 (2, 24, 36)]):
        pc = i % 2 == 0
        add("w16", batches, depth, units, _quant(rng, units), pc, w16=True, bias_kind=["small", "none"][i % 2])
        add("w16-edge", batches, depth, units, _quant(rng, units, edge=True), not pc, w16=True, bias_kind="big")
        add("w16-rounding", batches, depth, units, _rounding_quant(rng, units, list(Rounding)[i % 2]), pc, w16=True,
            narrow=True)
    while len(cases) < count:
        units = int(rng.integers(1, 40))
        add("random", int(rng.integers(1, 5)), int(rng.integers(1, 300)), units, _quant(rng, units),
            bool(rng.random() < 0.5), bias_kind=str(rng.choice(["small", "none", "big"])))
    return cases


def control_cases(seed: int) -> tuple[Case, Case]:
    """Variant calls that must differ from the reference (another multiplier)."""
    rng = np.random.default_rng(seed)
    q = _quant(rng, 8)
    q = Quant(q.input_offset, 0, (-128, 127), q.rounding, q.multiplier, np.full(8, -8, np.int32))
    return (pointwise_case(rng, "control: pointwise with another multiplier", 16, 8, (1, 2, 3), q, control=True),
            fc_case(rng, "control: fully connected with another multiplier", 2, 16, 8, q, True, control=True))


# ---- the tests ----------------------------------------------------------------

# One example per run (each is one build and, in QEMU, one boot); `make test-all` (TINYML_EXAMPLES=60) runs 6.
BUILDS = settings(ONE_BUILD, max_examples=max(1, profile_examples() // 10))


@pytest.mark.parametrize("target", TARGETS)
@BUILDS
@given(seed=st.integers(0, 2**32 - 1))
def test_pointwise_fast_matches_reference(target, seed):
    _require(target)
    control = control_cases(seed)[0]
    assert run_cases(pointwise_cases(seed, POINTWISE_CASES) + [control], target) == [control.name]


@pytest.mark.parametrize("target", TARGETS)
@BUILDS
@given(seed=st.integers(0, 2**32 - 1))
def test_fully_connected_fast_matches_reference(target, seed):
    _require(target)
    control = control_cases(seed)[1]
    assert run_cases(fc_cases(seed, FC_CASES) + [control], target) == [control.name]


def test_clean_only_flag_never_changes_a_result():
    """TINYML_PW_CLEAN_ONLY (codegen.build.step_defines) leaves the any-C_in channel loop out: on
    Cortex-M7 the layers that needed it (C_in not a multiple of 8, misaligned scratch) run pixel
    by pixel, still bit-exact."""
    _require("qemu-an500")
    control = control_cases(7)[0]
    cases = pointwise_cases(7, POINTWISE_CASES) + [control]
    assert run_cases(cases, "qemu-an500", defines=("-DTINYML_PW_CLEAN_ONLY",)) == [control.name]


def test_harness_reports_corrupted_cases():
    """Negative control: variants called with another multiplier, one that leaves an output byte
    wrong and one that writes a byte past its output are reported; the correct twins in the same
    build are not."""
    rng = np.random.default_rng(7)
    q = _quant(rng, 8)
    q = Quant(q.input_offset, 3, (-128, 127), q.rounding, q.multiplier, np.full(8, -7, np.int32))
    good_pw = pointwise_case(rng, "good pointwise", 16, 8, (1, 2, 3), q)
    bad_pw = pointwise_case(rng, "bad pointwise", 16, 8, (1, 2, 3), q, control=True)
    good_fc = fc_case(rng, "good fc", 2, 16, 8, q, True)
    bad_fc = fc_case(rng, "bad fc", 2, 16, 8, q, True, control=True)
    flip = fc_case(rng, "fc one output byte wrong", 1, 16, 8, q, True)
    flip = with_output_flipped(flip, 7)
    past = fc_case(rng, "fc one byte past its output", 1, 16, 8, q, True)
    past = dataclasses.replace(past, var=past.var + " out_var[8] = 0;")
    cases = [good_pw, bad_pw, good_fc, bad_fc, flip, past]
    assert run_cases(cases, "host") == ["bad pointwise", "bad fc", "fc one output byte wrong",
                                        "fc one byte past its output"]


# ---- instruction counts (not part of the suite) ---------------------------------

PW_SHAPES = [(25, 5, 64, 64), (25, 5, 128, 64), (25, 5, 64, 128), (24, 5, 32, 32), (24, 6, 16, 16)]  # h, w, C_in, C_out
FC_SHAPES = [(1, 400, 64, True), (1, 64, 12, False), (1, 64, 12, True), (4, 128, 32, True)]  # + per-channel


def bench(targets: list[str], reps: int = 4) -> None:
    """Instructions of pointwise layers (KWS-like 25x5x64 -> 64 and variants) and fully connected
    layers, reference vs fast, from SysTick ticks under -icount shift=0 (each call `reps` times
    between two counter reads; every layer's data distinct)."""
    rng = np.random.default_rng(1)
    decls, runs, layers = "", "", []
    out_max, scratch_max = 4, 4
    for rounding in (Rounding.DOUBLE, Rounding.SINGLE):
        for h, w, cin, cout in PW_SHAPES:
            i = len(layers)
            q = Quant(-3, -5, (-128, 127), rounding, rng.integers(1 << 30, 1 << 31, cout).astype(np.int32),
                      rng.integers(-10, -5, cout).astype(np.int32))
            x = rng.integers(-128, 128, (1, h, w, cin), dtype=np.int8)
            f, bias, fb = _weights_bias(rng, cout, cin, q, "small")
            params = Conv2DParams(Dims(1, h, w, cin), Dims(cout, 1, 1, cin), Dims(1, h, w, cout), Tile(1, 1),
                                  Tile(1, 1), Tile(0, 0), q.input_offset, q.output_offset, Activation(*q.act),
                                  q.rounding, _tables(q))
            p = f"b{i}_"
            decls += layer_decl(p, params, x=x, f=f, fb=fb, b=bias)
            macs = h * w * cin * cout
            name = f"pw {h}x{w}x{cin}->{cout} {rounding.name}"
            layers.append((name, macs))
            out_max, scratch_max = max(out_max, h * w * cout), max(scratch_max, _PW_FAST.scratch_bytes(params))
            runs += timed_run(f"{i} ref", f"tinyml_conv2d_1x1_s8(&{p}params, {p}x, {p}f, {p}b, out, scratch);", reps)
            runs += timed_run(f"{i} fast", f"tinyml_conv2d_1x1_s8_fast(&{p}params, {p}x, {p}f, {p}fb, out, scratch);",
                              reps)
        for batches, depth, units, per_channel in FC_SHAPES:
            i = len(layers)
            q = Quant(-3, -5, (-128, 127), rounding, rng.integers(1 << 30, 1 << 31, units).astype(np.int32),
                      rng.integers(-10, -5, units).astype(np.int32))
            x = rng.integers(-128, 128, (batches, depth), dtype=np.int8)
            wts, bias, fb = _weights_bias(rng, units, depth, q, "small")
            quant = _tables(q, None if per_channel else 1)
            params = FullyConnectedParams(batches, depth, units, q.input_offset, 0, q.output_offset, Activation(*q.act),
                                          q.rounding, int(per_channel), quant)
            p = f"b{i}_"
            decls += layer_decl(p, params, x=x, w=wts, fb=fb, b=bias)
            layers.append((f"fc {batches}x{depth}->{units} {'pc' if per_channel else 'pt'} {rounding.name}",
                           batches * depth * units))
            out_max = max(out_max, batches * units)
            runs += timed_run(f"{i} ref", f"tinyml_fully_connected_s8(&{p}params, {p}x, {p}w, {p}b, out);", reps)
            runs += timed_run(f"{i} fast", f"tinyml_fully_connected_s8_fast(&{p}params, {p}x, {p}w, {p}fb, out);",
                              reps)
    source = bench_source(decls, {"out": out_max, "scratch": scratch_max}, runs)
    for target in targets:
        ticks, per_tick = bench_ticks(target, source)
        print(f"{target} (1 tick = {per_tick:g} instructions, {reps} runs each)")
        insns = {}
        for i, (name, macs) in enumerate(layers):
            ref = ticks[(i, "ref")] * per_tick / reps
            fast = ticks[(i, "fast")] * per_tick / reps
            insns[name] = (ref, fast, macs)
            print(f"  {name:28s} MACs {macs:8d}  ref {ref / macs:6.3f} insn/MAC  fast {fast / macs:6.3f} insn/MAC  "
                  f"({ref / fast:4.2f}x)")
        # the first two pointwise shapes differ only in C_in: the difference is the inner loop
        (h, w, c0, cout), (_, _, c1, _) = PW_SHAPES[:2]
        for rounding in ("DOUBLE", "SINGLE"):
            a, b = (insns[f"pw {h}x{w}x{c}->{cout} {rounding}"] for c in (c0, c1))
            for k, kind in ((0, "ref"), (1, "fast")):
                per_mac = (b[k] - a[k]) / (b[2] - a[2])
                per_out = (a[k] - per_mac * a[2]) / (h * w * cout)
                print(f"  pw {rounding} {kind:4s}: inner loop {per_mac:5.3f} insn/MAC (C_in {c0} -> {c1}), "
                      f"{per_out:5.1f} insn per output besides")


if __name__ == "__main__":
    bench_main(sys.argv, __doc__, bench, ["qemu-an386", "qemu-an500"])
