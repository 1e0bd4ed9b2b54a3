"""The fast ADD and MUL kernels without broadcasting (runtime_c/src/add_s8_fast.c, mul_s8_fast.c)
against their reference kernels, which are the spec: bit-identical outputs on many generated
cases, in one build per target (tests/kernelcheck.py): on the host (portable C) and in QEMU with
the board's compiler flags (the DSP assembly loops on Cortex-M4, M7, M55).

Parameters are computed the way tinyengine/core/lower.py `_add` / `_mul` compute them, from
random float32 scales (extreme scale ratios included), zero points and fused activations, with
both rounding contracts; hand-made cases cover the ends of every range the fast path accepts and
parameters just outside them (which must take the reference path). Inputs are generated in C
(uniform, extreme values and the values that make `x + offset` zero, or every (x1, x2) pair);
element counts go from 1 to 5000 (odd counts, non-multiples of 4). The fast kernels also run in
place (output == input1, output == input2, all three the same) and at unaligned addresses.

Rounding ties decide few outputs of lowered parameters (the input stages' ties hardly ever reach
the output), so hand-made "tie designs" (multipliers 2^30, small shifts) make every stage's ties
decide many outputs; each rounding rule the kernels implement was checked to be load-bearing:
changing it (dropping a sign correction, SMMLA for SMMLAR, a wrong byte lane) fails the run.

Every run also carries deliberately corrupted cases (the variant called with another output
offset; a correct call whose last output byte is then flipped) that must be the only mismatches
reported, so a harness that compares nothing, or compares too little, cannot pass.

Not part of the suite: `python tests/test_kernels_elementwise.py bench [target ...]` counts the
instructions per element of ADD and MUL layers, reference vs fast (SysTick under -icount shift=0)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernelcheck import (
    ONE_BUILD,
    TARGETS,
    Case,
    bench_main,
    bench_source,
    bench_ticks,
    params_decl,
    require_target,
    run_cases,
    timed_run,
    variant_params,
    with_output_flipped,
)

from tinyengine.core import quant as Q
from tinyengine.core.layers import MAX_DIMS, contiguous_strides, right_align
from tinyengine.core.params import Activation, AddParams, Broadcast, MulParams, Rounding

EXHAUSTIVE = 1 << 16  # every (x1, x2) pair
MAX_N = EXHAUSTIVE
SLACK = 8             # room for the unaligned placements in `work`

# C helpers shared by all cases (prepended to the first case's declarations): the two input
# buffers and a deterministic fill. kind 0: uniform; 1: mostly the extremes and the values near
# -offset (x + offset in {-1, 0, 1}); 2: x = low byte of the index; 3: x = its high byte;
# 4: x = -offset (x + offset = 0) for 7/8 of the elements, else uniform.
PRELUDE = f"""
static int8_t ew_x1[{MAX_N}] __attribute__((aligned(16)));
static int8_t ew_x2[{MAX_N}] __attribute__((aligned(16)));
static void ew_fill(int8_t *x, int32_t n, uint32_t seed, int kind, int32_t offset)
{{
    static const int8_t ends[8] = {{-128, -127, -1, 0, 1, 126, 127, -128}};
    int32_t zero = -offset < -128 ? -128 : (-offset > 127 ? 127 : -offset);
    uint32_t s = seed * 2654435761u + 1u;
    for (int32_t i = 0; i < n; ++i) {{
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        int32_t v = (int32_t)(s >> 8) & 0xff;
        if (kind == 1) {{
            int32_t z = zero + (int32_t)((s >> 4) % 3u) - 1;
            v = (s & 1u) ? ends[(s >> 1) & 7u] : (z < -128 ? -128 : (z > 127 ? 127 : z));
        }} else if (kind == 2) {{
            v = i & 0xff;
        }} else if (kind == 3) {{
            v = (i >> 8) & 0xff;
        }} else if (kind == 4 && (s & 7u) != 0u) {{
            v = zero;
        }}
        x[i] = (int8_t)(v > 127 ? v - 256 : v);
    }}
}}
"""




def _f32(x: float) -> float:
    return float(np.float32(x))


def _geometry(rng: np.random.Generator, n: int) -> Broadcast:
    """A random shape of n elements (up to 4 dims), right-aligned; both inputs have it."""
    dims = [n]
    for _ in range(int(rng.integers(0, 4))):
        d = dims.pop(0)
        divisors = [k for k in range(1, min(d, 64) + 1) if d % k == 0]
        k = int(rng.choice(divisors))
        dims = [k, d // k] + dims
    shape = right_align(dims)
    strides = contiguous_strides(shape)
    assert len(shape) == MAX_DIMS and int(np.prod(shape)) == n
    return Broadcast(shape, strides, strides)


def _scale(rng: np.random.Generator) -> float:
    return _f32(2.0 ** rng.uniform(-12, 1))


def _zero_point(rng: np.random.Generator) -> int:
    return int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128)), int(rng.integers(-128, 128))]))


def _activation(rng: np.random.Generator, scale: float, zp: int) -> Activation:
    fused = int(rng.choice([0, 0, 1, 1, 2, 3]))
    return Activation(*Q.activation_range(fused, scale, zp, "test"))


# ---- parameters --------------------------------------------------------------------

def add_lowered(rng: np.random.Generator, n: int, single: bool, ratio: float | None = None) -> AddParams:
    """ADD parameters as lower.py `_add` computes them from random scales."""
    s1 = _scale(rng)
    s2 = _f32(s1 * (2.0 ** (rng.uniform(-8, 8) if ratio is None else ratio)))
    if ratio is None and rng.random() < 0.25:
        s2 = s1  # equal scales: both inputs "unit"
    so = _f32(max(s1, s2) * 2.0 ** rng.uniform(-3, 4))
    z1, z2, zo = _zero_point(rng), _zero_point(rng), _zero_point(rng)
    left_shift = 20
    twice_max = 2 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = Q.quantize_multiplier(s1 / twice_max, single)
    m2, sh2 = Q.quantize_multiplier(s2 / twice_max, single)
    mo, sho = Q.quantize_multiplier(twice_max / ((1 << left_shift) * so), single)
    return AddParams(_geometry(rng, n), left_shift, -z1, m1, sh1, -z2, m2, sh2, zo, mo, sho,
                     _activation(rng, so, zo), Rounding.SINGLE if single else Rounding.DOUBLE)


def add_edge(rng: np.random.Generator, n: int, single: bool) -> AddParams:
    """Hand-made ADD parameters at the ends of (and just beyond) the fast ranges."""
    def one_input():
        kind = rng.random()
        if kind < 0.35:
            return 1 << 30, 0  # unit
        m = int(rng.choice([0, 1, 1 << 30, (1 << 30) + 1, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))
        if kind < 0.9:
            return m, int(rng.choice([-1, -2, -30, -31, int(rng.integers(-31, 0))]))
        return m, 0  # shift 0, not unit: the reference path
    (m1, sh1), (m2, sh2) = one_input(), one_input()
    mo = int(rng.choice([0, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))
    sho = int(rng.choice([-1, -2, -21, -22, -23, -31, 0, int(rng.integers(-22, 0))]))
    off1, off2 = (int(rng.choice([-128, 128, -127, 127, 0, int(rng.integers(-128, 129))])) for _ in range(2))
    zo = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    lo = int(rng.choice([-128, -128, zo, int(rng.integers(-128, 128))]))
    hi = int(rng.choice([127, 127, int(rng.integers(lo, 128))]))
    left_shift = 20 if rng.random() < 0.9 else int(rng.choice([15, 19, 21]))
    return AddParams(_geometry(rng, n), left_shift, off1, m1, sh1, off2, m2, sh2, zo, mo, sho, Activation(lo, hi),
                     Rounding.SINGLE if single else Rounding.DOUBLE)


def mul_lowered(rng: np.random.Generator, n: int, single: bool) -> MulParams:
    """MUL parameters as lower.py `_mul` computes them from random scales."""
    s1, s2 = _scale(rng), _scale(rng)
    so = _f32(s1 * s2 * 2.0 ** rng.uniform(-4, 12))
    z1, z2, zo = _zero_point(rng), _zero_point(rng), _zero_point(rng)
    m, sh = Q.quantize_multiplier(float(s1) * float(s2) / float(so), single)
    return MulParams(_geometry(rng, n), -z1, -z2, zo, m, sh, _activation(rng, so, zo),
                     Rounding.SINGLE if single else Rounding.DOUBLE)


def mul_edge(rng: np.random.Generator, n: int, single: bool) -> MulParams:
    m = int(rng.choice([0, 1, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))
    sh = int(rng.choice([-31, -23, -22, -21, -1, 0, 1, 13, 14, 30, int(rng.integers(-22, 14))]))
    off1, off2 = (int(rng.choice([-128, 128, -127, 127, 0, int(rng.integers(-128, 129))])) for _ in range(2))
    zo = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    lo = int(rng.choice([-128, zo, int(rng.integers(-128, 128))]))
    hi = int(rng.choice([127, int(rng.integers(lo, 128))]))
    return MulParams(_geometry(rng, n), off1, off2, zo, m, sh, Activation(lo, hi),
                     Rounding.SINGLE if single else Rounding.DOUBLE)


def _act_ok(a: Activation) -> bool:
    return -128 <= a.min <= a.max <= 127


def add_fast_path(p: AddParams) -> str:
    """Which loop tinyml_add_s8_fast runs (its add_plan, restated): 'GU', 'GG', 'UU' or 'ref'."""
    def kind(off, m, sh):
        if not -128 <= off <= 128 or m < 0:
            return None
        if m == 1 << 30 and sh == 0:
            return "U"
        return "G" if -31 <= sh <= -1 else None
    k1 = kind(p.input1_offset, p.input1_multiplier, p.input1_shift)
    k2 = kind(p.input2_offset, p.input2_multiplier, p.input2_shift)
    out_max = -1 if p.rounding == Rounding.DOUBLE else -2
    ok = (p.left_shift == 20 and k1 and k2 and p.output_multiplier >= 0 and -22 <= p.output_shift <= out_max
          and -128 <= p.output_offset <= 127 and _act_ok(p.activation))
    return "".join(sorted(k1 + k2)) if ok else "ref"


def mul_fast_path(p: MulParams) -> str:
    ok = (-128 <= p.input1_offset <= 128 and -128 <= p.input2_offset <= 128 and p.output_multiplier >= 0
          and -128 <= p.output_offset <= 127 and _act_ok(p.activation))
    if not ok:
        return "ref"
    if 0 <= p.output_shift <= 13:
        return "R"
    if -22 <= p.output_shift <= -1:
        return "A" if p.rounding == Rounding.SINGLE else "RS"
    return "ref"


# ---- cases ---------------------------------------------------------------------------

KERNELS = {"add": ("tinyml_add_s8", "tinyml_add_s8_fast"), "mul": ("tinyml_mul_s8", "tinyml_mul_s8_fast")}
PLACEMENTS = ["out", "out", "inplace1", "inplace2", "same", "unaligned"]


def make_case(name: str, op: str, params, n: int, seed: int, kinds: tuple[int, int], placement: str = "out",
              bad_params=None) -> Case:
    """One comparison. placement: 'out' (separate buffers), 'inplace1' / 'inplace2' (output over
    that input), 'same' (one buffer is both inputs and the output), 'unaligned' (inputs and
    output at odd, different offsets). `bad_params`: the variant gets these (negative control)."""
    ref_fn, var_fn = KERNELS[op]
    bad_decls, pv = variant_params(bad_params)
    decls = params_decl("{p}", params) + bad_decls
    fill = (f"ew_fill(ew_x1, {n}, {seed}u, {kinds[0]}, {params.input1_offset});\n"
            f"    ew_fill(ew_x2, {n}, {seed + 7919}u, {kinds[1]}, {params.input2_offset});\n    ")
    x2 = "ew_x1" if placement == "same" else "ew_x2"
    ref = fill + f"{ref_fn}(&{{p}}params, ew_x1, {x2}, out_ref);"
    work_bytes = 3 * (n + SLACK) + SLACK
    if placement == "out":
        var = f"{var_fn}(&{pv}, ew_x1, ew_x2, out_var);"
        work_bytes = 0
    elif placement in ("inplace1", "inplace2", "same"):
        src = {"inplace1": "ew_x1", "inplace2": "ew_x2", "same": "ew_x1"}[placement]
        args = {"inplace1": "work, ew_x2", "inplace2": "ew_x1, work", "same": "work, work"}[placement]
        var = (f"memcpy(work, {src}, {n});\n    {var_fn}(&{pv}, {args}, work);\n"
               f"    memcpy(out_var, work, {n});")
    else:
        o1, o2, o3 = 1 + seed % 3, 3, 2
        w1, w2, w3 = f"work + {o1}", f"work + {o2 + n + SLACK}", f"work + {o3 + 2 * (n + SLACK)}"
        var = (f"memcpy({w1}, ew_x1, {n});\n    memcpy({w2}, ew_x2, {n});\n"
               f"    {var_fn}(&{pv}, {w1}, {w2}, {w3});\n    memcpy(out_var, {w3}, {n});")
    return Case(name, decls, ref, var, n, work_bytes=work_bytes)


def _count(rng: np.random.Generator) -> int:
    r = rng.random()
    if r < 0.35:
        return int(rng.integers(1, 17))
    if r < 0.8:
        return int(rng.integers(17, 400))
    return int(rng.integers(400, 5001))


def tie_designs(rng: np.random.Generator) -> list[tuple[str, str, object, tuple[int, int]]]:
    """Parameters made so that the rounding ties of each stage decide outputs often: with
    m = 2^30 the high multiplies are exact halvings, and small right shifts after them tie
    on every other value. Lowered parameters hide the input stages' ties (the output stage
    divides by ~2^19), so these are what tells a wrong tie rule apart. Most run every pair."""
    out = []
    half = 1 << 30
    for single in (False, True):
        r = Rounding.SINGLE if single else Rounding.DOUBLE
        e_out = 2 if single else 1

        def add(n, m1, sh1, m2, sh2, sho, mo=half, r=r):
            return AddParams(_geometry(rng, n), 20, int(rng.integers(-128, 129)), m1, sh1, int(rng.integers(-128, 129)),
                             m2, sh2, int(rng.integers(-20, 21)), mo, sho, Activation(-128, 127), r)
        # input stage ties, (general, general): s1 = round(v1 / 2), s2 = round(v2 / 4), out ~ (s1 + s2) / 4
        out.append(("tie-gg", "add", add(EXHAUSTIVE, half, -20, half, -21, -e_out), (2, 3)))
        # input stage ties, (general, unit): x2 + offset2 = 0 for most elements, out ~ s1 / 4
        out.append(("tie-gu-in", "add", add(4096, half, -20, half, 0, -e_out), (0, 4)))
        out.append(("tie-ug-in", "add", add(4096, half, 0, half, -21, -e_out), (4, 0)))
        # the same with m = 2^31 - 1 and shift -21: the low word of v * m * 2^21 (the rounding bit) matters
        top = (1 << 31) - 1
        out.append(("tie-gu-low", "add", add(4096, top, -21, half, 0, -e_out, mo=top), (0, 4)))
        # output stage ties, (general, unit): s1 = v1 * 2^18, t = 2^18 (v1 + 2 v2), out ~ t / 2^21
        out.append(("tie-gu-out", "add", add(EXHAUSTIVE, half, -1, half, 0, -20), (2, 3)))
        # output stage ties, (unit, unit): t = 2^19 (v1 + v2), out ~ t / 2^21
        out.append(("tie-uu-out", "add", add(EXHAUSTIVE, half, 0, half, 0, -20), (2, 3)))
        # MUL: 2P * m has the low word 2^31 for odd P (shift 0: the rounding bit), y = P / 2
        # exactly, then a right shift by e (ties on every 2^e-th value)
        for sho in (0, -1, -4, -9):
            p = MulParams(_geometry(rng, EXHAUSTIVE), int(rng.integers(-128, 129)), int(rng.integers(-128, 129)),
                          int(rng.integers(-20, 21)), half + int(rng.choice([0, 0, 1 << 12])), sho,
                          Activation(-128, 127), r)
            out.append(("tie-mul", "mul", p, (2, 3)))
    return out


def elementwise_cases(seed: int, count: int, sweep: int) -> list[Case]:
    """The tie designs, then for ADD and for MUL `sweep` cases of every (x1, x2) pair (parameters
    lowered or hand-made, on the fast paths, both roundings) and `count` other cases (counts 1 .. 9
    in every placement, extreme scale ratios, every loop, hand-made edges, lowered)."""
    rng = np.random.default_rng(seed)
    cases = []

    def add_case(tag: str, op: str, params, n: int, kinds=None, placement=None) -> None:
        kinds = kinds or (int(rng.choice([0, 0, 1])), int(rng.choice([0, 0, 1])))
        placement = placement or str(rng.choice(PLACEMENTS))
        path = add_fast_path(params) if op == "add" else mul_fast_path(params)
        name = f"{op}{len(cases)} {tag} n={n} path={path} {placement} {kinds} {params}"
        cases.append(make_case(name, op, params, n, int(rng.integers(0, 1 << 30)), kinds, placement))

    for tag, op, params, kinds in tie_designs(rng):
        n = int(np.prod(params.geometry.out_shape))
        add_case(tag, op, params, n, kinds, "out")
    for op, lowered, edge in (("add", add_lowered, add_edge), ("mul", mul_lowered, mul_edge)):
        path_of = add_fast_path if op == "add" else mul_fast_path
        made = 0
        while made < sweep:  # every (x1, x2) pair
            p = (lowered if made % 3 else edge)(rng, EXHAUSTIVE, bool(made % 2))
            if path_of(p) != "ref":
                add_case("every-pair", op, p, EXHAUSTIVE, (2, 3), "out")
                made += 1
        start = len(cases)
        # counts 1 .. 9 (the tail alone, one step + tail) and every placement
        for n, placement in zip(range(1, 10), PLACEMENTS * 2):
            add_case("small", op, lowered(rng, n, bool(n % 2)), n, placement=placement)
        if op == "add":  # extreme scale ratios: input shifts down to -31 and multiplier 0
            for ratio in (-31.0, -24.0, -20.0, 20.0, 30.5):
                n = _count(rng)
                add_case("ratio", op, add_lowered(rng, n, bool(rng.random() < 0.5), ratio), n)
            for single in (False, True):  # (general, general): never lowered, hand-made
                n = _count(rng)
                q = add_lowered(rng, n, single)
                q = dataclasses.replace(q, input1_multiplier=int(rng.integers(1 << 30, 1 << 31)), input1_shift=-1,
                                        input2_multiplier=int(rng.integers(1 << 30, 1 << 31)),
                                        input2_shift=int(rng.integers(-12, 0)))
                add_case("general-general", op, q, n)
        else:  # every loop: left shifts (R), right shifts with each rounding (RS, A)
            for sh in (0, 13, -1, -22):
                for single in (False, True):
                    n = _count(rng)
                    add_case("shift", op, dataclasses.replace(mul_lowered(rng, n, single), output_shift=sh), n)
        edges = len(cases) + count // 3
        while len(cases) < edges:
            n = _count(rng)
            add_case("edge", op, edge(rng, n, bool(rng.random() < 0.5)), n)
        while len(cases) - start < count:
            n = _count(rng)
            add_case("lowered", op, lowered(rng, n, bool(rng.random() < 0.5)), n)
    return _with_prelude(cases)


def _with_prelude(cases: list[Case]) -> list[Case]:
    first = cases[0]
    return [dataclasses.replace(first, decls=PRELUDE + first.decls)] + cases[1:]


def _moderate(p, output_offset: int):
    """The same layer with outputs far from saturation (about (x1 + x2) / 4 resp. x1 * x2 / 2^9
    plus the offset) and no clamp, so that another output offset changes most outputs."""
    return dataclasses.replace(p, activation=Activation(-128, 127), output_offset=output_offset,
                               output_multiplier=1 << 30, output_shift=-20 if isinstance(p, AddParams) else -8)


def control_cases(seed: int) -> list[Case]:
    """Variant calls that must differ from the reference: another output offset (each op and
    rounding), and a correct call in place followed by flipping the last output byte."""
    rng = np.random.default_rng(seed)
    out = []
    for op, make in (("add", add_lowered), ("mul", mul_lowered)):
        for single in (False, True):
            p = _moderate(make(rng, 64, single), 0)
            bad = dataclasses.replace(p, output_offset=1)
            out.append(make_case(f"control: {op} {p.rounding.name} with another output offset", op, p, 64,
                                 int(rng.integers(0, 1 << 30)), (0, 0), bad_params=bad))
        flip = make_case(f"control: {op} with its last output byte flipped", op, make(rng, 37, False), 37,
                         int(rng.integers(0, 1 << 30)), (0, 1), "inplace2")
        out.append(with_output_flipped(flip, 36))
    return out


# ---- the tests ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
@ONE_BUILD
@given(seed=st.integers(0, 2**32 - 1))
def test_add_mul_fast_match_reference(target, seed):
    require_target(target)
    cases = elementwise_cases(seed, count=45, sweep=30)
    paths = [c.name.split(" path=")[1].split()[0] for c in cases]
    # the generated parameters must exercise every fast loop, mostly, and the reference path too
    for path in ("GU", "UU", "GG", "R", "RS", "A", "ref"):
        assert path in paths, path
    assert paths.count("ref") < 0.3 * len(paths)
    controls = control_cases(seed)
    assert run_cases(cases + controls, target) == [c.name for c in controls]


def test_fast_path_coverage_of_lowered_parameters():
    """Parameters from the lowering take a fast loop (not the reference fallback) unless the
    scales are extreme, and the (general, general) loop never (the larger scale is 'unit')."""
    rng = np.random.default_rng(3)
    add = [add_fast_path(add_lowered(rng, 16, bool(i % 2))) for i in range(400)]
    mul = [mul_fast_path(mul_lowered(rng, 16, bool(i % 2))) for i in range(400)]
    assert add.count("ref") == 0 and add.count("GG") == 0, add
    assert mul.count("ref") < 0.05 * len(mul), mul


# ---- instruction counts (not part of the suite) -----------------------------------------

# the inputs of every benchmarked layer
BENCH_INPUTS = """    for (int i = 0; i < %d; ++i) {
        x1[i] = (int8_t)(i * 37 + 11);
        x2[i] = (int8_t)(i * 101 + 5);
    }
"""


def bench(targets: list[str], n: int = 4096, reps: int = 4) -> None:
    """Instructions per element of ADD and MUL layers of n elements, reference vs fast, from
    SysTick ticks under -icount shift=0 (the counter reads add a few instructions per run)."""
    rng = np.random.default_rng(5)
    layers = []
    for single in (False, True):
        r = "SINGLE" if single else "DOUBLE"
        p = add_lowered(rng, n, single, ratio=-0.7)
        p = dataclasses.replace(p, activation=Activation(p.output_offset, 127))  # a fused RELU
        layers.append((f"add {r} (general, unit)", "add", p))
        q = add_lowered(rng, n, single, ratio=0.0)
        layers.append((f"add {r} (unit, unit)", "add", dataclasses.replace(q, input2_multiplier=q.input1_multiplier,
                                                                           input2_shift=q.input1_shift)))
        layers.append((f"add {r} (general, general)", "add",
                       dataclasses.replace(p, input1_multiplier=(1 << 30) + 12345, input1_shift=-1,
                                           input2_multiplier=(1 << 30) + 54321, input2_shift=-2)))
        for sh in (-9, 2):
            m = mul_lowered(rng, n, single)
            layers.append((f"mul {r} shift {sh}", "mul", dataclasses.replace(m, output_shift=sh)))
    decls, runs = "", ""
    for i, (name, op, p) in enumerate(layers):
        path = add_fast_path(p) if op == "add" else mul_fast_path(p)
        assert path != "ref", (name, p)
        decls += params_decl(f"b{i}_", p)
        for kind, fn in zip(("ref", "fast"), KERNELS[op]):
            runs += timed_run(f"{i} {kind}", f"{fn}(&b{i}_params, x1, x2, out);", reps)
    source = bench_source(decls, {"x1": n, "x2": n, "out": n}, runs, setup=BENCH_INPUTS % n, align=4)
    for target in targets:
        ticks, per_tick = bench_ticks(target, source)
        print(f"{target} (1 tick = {per_tick:g} instructions, {n} elements, {reps} runs each)")
        for i, (name, _, _) in enumerate(layers):
            ref = ticks[(i, "ref")] * per_tick / reps / n
            fast = ticks[(i, "fast")] * per_tick / reps / n
            print(f"  {name:30s} ref {ref:7.2f} insn/element  fast {fast:6.2f} insn/element  ({ref / fast:5.2f}x)")


if __name__ == "__main__":
    bench_main(sys.argv, __doc__, bench, ["qemu-an500"])
