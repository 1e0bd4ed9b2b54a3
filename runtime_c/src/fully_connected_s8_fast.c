/*
 * FULLY_CONNECTED, int8, per-tensor or per-channel requantization: the fast
 * variant of tinyml_fully_connected_s8, bit-identical to it for any batch
 * count, depth and unit count, with both rounding contracts. This file is the
 * portable and the ARMv7E-M DSP build (Cortex-M4/M7; any core without integer
 * MVE); fully_connected_s8_fast_mve.c is the Helium one.
 *
 * Requires filter_offset == 0 (symmetric int8 weights, as TFLite's int8
 * FULLY_CONNECTED; the compiler selects this kernel only then): the field is
 * not read.
 *
 * Blocking. Batches (input rows) go one at a time. Units go four at a time: a
 * 1 x 4 tile accumulates the input row against four weight rows, 4 depth
 * values per step: each word is split into its even and odd int16 pairs
 * (SXTB16, SXTB16 ROR #8; input and weights alike, so the dot product is
 * unchanged) and 8 SMLADs add the step's 16 products. A step is 5 LDR, 10
 * SXTB16 and 8 SMLAD (the input word is loaded and split once for the four
 * units): 23 instructions for 16 MACs, two steps an iteration. The tiles of up
 * to FC_BLOCK unit quads are accumulated into a stack block (the unit loop in
 * assembly too when the depth is a multiple of 8: 14 instructions a tile
 * around the steps; else a C loop, one single step and a scalar depth % 4
 * tail), then requantized together (14.5 instructions an output per-channel,
 * 9.5 per-tensor, with rounding double). units % 4 are finished exactly by
 * 1-wide code.
 *
 * Arithmetic. The accumulators start at folded_bias[u] = bias[u] + input_offset
 * * sum(weights[u]) and add raw x * w: the reference's sum((x + input_offset) *
 * w) + bias modulo 2^32. Each output is requantized once: when the (multiplier,
 * shift) of every unit (or the one per-tensor pair) is in the tm_rq_fast_*
 * range (simd.h; checked once per call) by tm_rq_fast_double /
 * tm_rq_fast_single (exact for every int32 accumulator, the output offset
 * folded in), else by tm_mbqm. Four outputs are saturated to int8, packed into
 * one word, clamped to the activation range per byte (SSUB8 + SEL) and stored
 * with one word store. activation.min <= activation.max.
 *
 * No scratch; 4 * 4 * FC_BLOCK bytes of stack for the accumulators. Kernels never
 * allocate. The output must not overlap the input.
 */
#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)) /* Helium: fully_connected_s8_fast_mve.c */

#include <stdint.h>

#include "tinyml/dsp_matmul.h"
#include "tinyml/kernels.h"
#include "tinyml/simd.h"

#if defined(__GNUC__)
#define FC_INLINE static inline __attribute__((always_inline))
#define FC_NOINLINE static __attribute__((noinline))
#else
#define FC_INLINE static inline
#define FC_NOINLINE static
#endif

#define FC_BLOCK 8 /* unit quads accumulated before one requantization pass */

/* ---- the 1 x 4 tile -------------------------------------------------------- */

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One row of a step: the row's word (at ROW_ADDR) split into f2 (even) and f (odd halves),
 * two SMLADs against the input halves xe, xo into ACC. */
#define FC_ROW(ROW_ADDR, ACC)                                                \
    "ldr    %[f], " ROW_ADDR "\n\t"                                          \
    "sxtb16 %[f2], %[f]\n\t"                                                 \
    "sxtb16 %[f], %[f], ror #8\n\t"                                          \
    "smlad  %[" ACC "], %[xe], %[f2], %[" ACC "]\n\t"                        \
    "smlad  %[" ACC "], %[xo], %[f], %[" ACC "]\n\t"
/* One step: x walks the input row, w weight row 0 (rows 1, 2, 3 at w + len, + 2 len, + 3 len).
 * With the accumulators a0..a3, x, w, len, len3 and a loop bound: 13 registers. */
#define FC_STEP_1X4                                                          \
    "ldr    %[xo], [%[x]], #4\n\t"                                           \
    "sxtb16 %[xe], %[xo]\n\t"                                                \
    "sxtb16 %[xo], %[xo], ror #8\n\t"                                        \
    FC_ROW("[%[w], %[len3]]", "a3")                                          \
    FC_ROW("[%[w], %[len], lsl #1]", "a2")                                   \
    FC_ROW("[%[w], %[len]]", "a1")                                           \
    FC_ROW("[%[w]], #4", "a0")
#define FC_OPERANDS_1X4                                                                          \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [w] "+r"(wp),    \
      [xe] "=&r"(xe), [xo] "=&r"(xo), [f] "=&r"(f), [f2] "=&r"(f2)
#endif

/* acc[0..3] = bias[0..3] + dot(row i, x) for the four weight rows from w. Any depth. */
FC_NOINLINE void fc_tile_1x4(const int8_t *x, const int8_t *w, int32_t depth, const int32_t *bias, int32_t *acc)
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    const int32_t groups = depth >> 2;
    const int8_t *xp = x, *wp = w;
#if TINYML_HAVE_DSP && defined(__GNUC__)
    int32_t xe, xo, f, f2;
    const int32_t len3 = 3 * depth;
    if (groups & 1) {
        __asm__(FC_STEP_1X4 FC_OPERANDS_1X4 : [len] "r"(depth), [len3] "r"(len3) : "memory");
    }
    const int8_t *const end = x + 4 * groups;
    if (xp != end) {
        __asm__("1:\n\t" FC_STEP_1X4 FC_STEP_1X4
                "cmp    %[x], %[end]\n\t"
                "bne    1b\n\t" FC_OPERANDS_1X4
                : [len] "r"(depth), [len3] "r"(len3), [end] "r"(end)
                : "cc", "memory");
    }
#else
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t v = tm_load_s8x4(xp);
        const int32_t ve = tm_sxtb16(v), vo = tm_sxtb16_ror8(v);
        const int32_t f0 = tm_load_s8x4(wp), f1 = tm_load_s8x4(wp + depth);
        const int32_t f2 = tm_load_s8x4(wp + 2 * depth), f3 = tm_load_s8x4(wp + 3 * depth);
        xp += 4;
        wp += 4;
        a0 = tm_smlad(vo, tm_sxtb16_ror8(f0), tm_smlad(ve, tm_sxtb16(f0), a0));
        a1 = tm_smlad(vo, tm_sxtb16_ror8(f1), tm_smlad(ve, tm_sxtb16(f1), a1));
        a2 = tm_smlad(vo, tm_sxtb16_ror8(f2), tm_smlad(ve, tm_sxtb16(f2), a2));
        a3 = tm_smlad(vo, tm_sxtb16_ror8(f3), tm_smlad(ve, tm_sxtb16(f3), a3));
    }
#endif
    for (int32_t k = depth & 3; k > 0; --k, ++xp, ++wp) {
        const int32_t v = *xp;
        a0 += v * wp[0];
        a1 += v * wp[depth];
        a2 += v * wp[2 * depth];
        a3 += v * wp[3 * depth];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc[4j + i] = bias[4j + i] + dot(row 4j + i, x) for n >= 1 unit quads from w. */
FC_NOINLINE void fc_acc_block(const int8_t *x, const int8_t *w, int32_t depth, const int32_t *bias, int32_t *acc,
                              int32_t n)
{
#if TINYML_HAVE_DSP && defined(__GNUC__)
    if ((depth & 7) == 0 && depth > 0) {
        /* The unit loop too in assembly: its state (bias, acc, n, the input row) in memory
         * operands (stack slots), the weight rows in a register (the next quad starts where the
         * inner loop leaves row 0, plus 3 * depth). */
        const int32_t len3 = 3 * depth;
        const int8_t *const end = x + depth;
        const int8_t *xp, *wp = w;
        int32_t a0, a1, a2, a3, xe, xo, f, f2;
        __asm__("0:\n\t"
                "ldr    %[f], %[bias]\n\t"
                "ldrd   %[a0], %[a1], [%[f]], #8\n\t"
                "ldrd   %[a2], %[a3], [%[f]], #8\n\t"
                "str    %[f], %[bias]\n\t"
                "ldr    %[x], %[xrow]\n\t"
                "1:\n\t" FC_STEP_1X4 FC_STEP_1X4
                "cmp    %[x], %[end]\n\t"
                "bne    1b\n\t"
                "add    %[w], %[w], %[len3]\n\t"
                "ldr    %[f], %[acc]\n\t"
                "strd   %[a0], %[a1], [%[f]], #8\n\t"
                "strd   %[a2], %[a3], [%[f]], #8\n\t"
                "str    %[f], %[acc]\n\t"
                "ldr    %[f], %[n]\n\t"
                "subs   %[f], %[f], #1\n\t"
                "str    %[f], %[n]\n\t"
                "bne    0b\n\t"
                : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "=&r"(xp), [w] "+r"(wp),
                  [xe] "=&r"(xe), [xo] "=&r"(xo), [f] "=&r"(f), [f2] "=&r"(f2), [bias] "+m"(bias), [acc] "+m"(acc),
                  [n] "+m"(n)
                : [len] "r"(depth), [len3] "r"(len3), [end] "r"(end), [xrow] "m"(x)
                : "cc", "memory");
        return;
    }
#endif
    const size_t quad = 4 * (size_t)depth;
    for (; n > 0; --n, w += quad, bias += 4, acc += 4) {
        fc_tile_1x4(x, w, depth, bias, acc);
    }
}

/* ---- the output stage -------------------------------------------------------- */

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One unit (the fragments and their operands are dsp_matmul.h's): its multiplier m and
 * r = ~shift, h = (oo << r) >> 1, the accumulator x from p; requantized (TM_RQ_ASM_DOUBLE /
 * TM_RQ_ASM_SINGLE) and saturated to int8 into DST. */
#define FC_RQ_UNIT(RQ, DST)                                                  \
    TM_RQ_ASM_LOAD                                                           \
    "ldr    %[x], [%[p]], #4\n\t"                                            \
    RQ(DST)
/* Four units into v (one byte each), clamped per byte and stored as one word. 12 registers. */
#define FC_CLAMP_STORE                                                       \
    TM_RQ_ASM_CLAMP4                                                         \
    "str    %[v], [%[out]], #4\n\t"
#define FC_OUT_QUAD(RQ)                                                      \
    FC_RQ_UNIT(RQ, "%[v]")                                                   \
    FC_RQ_UNIT(RQ, "%[x]")                                                   \
    "bfi    %[v], %[x], #8, #8\n\t"                                          \
    FC_RQ_UNIT(RQ, "%[x]")                                                   \
    "bfi    %[v], %[x], #16, #8\n\t"                                         \
    FC_RQ_UNIT(RQ, "%[x]")                                                   \
    "bfi    %[v], %[x], #24, #8\n\t"                                         \
    FC_CLAMP_STORE
/* The same with one (m, r, h) for every unit (per-tensor), computed once. 9 registers. */
#define FC_OUT_QUAD_TENSOR(RQ)                                               \
    "ldr    %[x], [%[p]], #4\n\t"                                            \
    RQ("%[v]")                                                               \
    "ldr    %[x], [%[p]], #4\n\t"                                            \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #8, #8\n\t"                                          \
    "ldr    %[x], [%[p]], #4\n\t"                                            \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #16, #8\n\t"                                         \
    "ldr    %[x], [%[p]], #4\n\t"                                            \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #24, #8\n\t"                                         \
    FC_CLAMP_STORE
#define FC_OUT_TENSOR_OPERANDS                                                                  \
    : [p] "+r"(acc), [out] "+r"(out), [x] "=&r"(x), [lo] "=&r"(lo), [hi] "=&r"(hi), [v] "=&r"(v) \
    : [m] "r"(m), [r] "r"(r), [h] "r"(h), [min4] "m"(min4), [max4] "m"(max4)                    \
    : "cc", "memory"
#define FC_OUT_OPERANDS                                                                         \
    : [p] "+r"(acc), [mp] "+r"(mult), [shp] "+r"(shift), [out] "+r"(out), [m] "=&r"(m),         \
      [r] "=&r"(r), [h] "=&r"(h), [x] "=&r"(x), [lo] "=&r"(lo), [hi] "=&r"(hi), [v] "=&r"(v)      \
    : [oo] "r"(oo), [min4] "m"(min4), [max4] "m"(max4)                                          \
    : "cc", "memory"
#endif

/* Requantize (single: the rounding), clamp and store n quads of acc (4 units each) to out, the
 * multipliers and shifts from mult, shift: 4 per quad, or (per_tensor) the same mult[0..3],
 * shift[0..3] (all equal) for every quad. Fast path only. */
FC_INLINE void fc_out_fast(const tm_rq_out_t *L, const int32_t *acc, const int32_t *mult, const int32_t *shift,
                           int32_t n, int8_t *out, int per_tensor, int single)
{
    const int32_t oo = L->oo, min4 = L->min4, max4 = L->max4;
#if TINYML_HAVE_DSP && defined(__GNUC__)
    if (per_tensor) {
        const int32_t m = mult[0], r = tm_rq_fast_r(shift[0]), h = tm_rq_fast_h(shift[0], L->offset);
        for (const int32_t *const end = acc + 4 * n; acc != end;) {
            int32_t x, lo, hi, v;
            if (single) {
                __asm__(FC_OUT_QUAD_TENSOR(TM_RQ_ASM_SINGLE) FC_OUT_TENSOR_OPERANDS);
            } else {
                __asm__(FC_OUT_QUAD_TENSOR(TM_RQ_ASM_DOUBLE) FC_OUT_TENSOR_OPERANDS);
            }
            (void)lo;
        }
        return;
    }
#endif
    const int32_t back = per_tensor ? 4 : 0;
    for (const int32_t *const end = acc + 4 * n; acc != end; mult -= back, shift -= back) {
#if TINYML_HAVE_DSP && defined(__GNUC__)
        int32_t m, r, h, x, lo, hi, v;
        if (single) {
            __asm__(FC_OUT_QUAD(TM_RQ_ASM_SINGLE) FC_OUT_OPERANDS);
        } else {
            __asm__(FC_OUT_QUAD(TM_RQ_ASM_DOUBLE) FC_OUT_OPERANDS);
        }
        (void)lo;
#else
        int32_t q[4];
        for (int i = 0; i < 4; ++i) {
            const int32_t r = tm_rq_fast_r(shift[i]), h = tm_rq_fast_h_oo(oo, r);
            q[i] = tm_ssat8(single ? tm_rq_fast_single(acc[i], mult[i], h, r) : tm_rq_fast_double(acc[i], mult[i], h, r));
        }
        const int32_t v = tm_pack_s8x4(q[0], q[1], q[2], q[3]);
        tm_store_s8x4(out, tm_max_s8x4(tm_min_s8x4(v, max4), min4));
        acc += 4;
        mult += 4;
        shift += 4;
        out += 4;
#endif
    }
}
FC_NOINLINE void fc_out_double(const tm_rq_out_t *L, const int32_t *acc, const int32_t *mult, const int32_t *shift,
                               int32_t n, int8_t *out, int per_tensor)
{
    fc_out_fast(L, acc, mult, shift, n, out, per_tensor, 0);
}
FC_NOINLINE void fc_out_single(const tm_rq_out_t *L, const int32_t *acc, const int32_t *mult, const int32_t *shift,
                               int32_t n, int8_t *out, int per_tensor)
{
    fc_out_fast(L, acc, mult, shift, n, out, per_tensor, 1);
}

/* The unit-quad blocks accumulated by `acc_block` over weights of `row_bytes` bytes a unit
 * (depth for int8, 2 * depth for the int16 build), requantized and stored; units % 4 are
 * finished by 1-wide int8 code (the int8 build only: the int16 one has units % 4 == 0). */
typedef void (*fc_block_fn)(const int8_t *x, const int8_t *w, int32_t depth, const int32_t *bias, int32_t *acc,
                            int32_t n);
static void fc_run(const tinyml_fully_connected_params_t *p, const int8_t *input, const int8_t *weights,
                   size_t row_bytes, fc_block_fn acc_block, const int32_t *folded_bias, int8_t *output)
{
    const int32_t depth = p->input_depth, units = p->units;
    tm_rq_out_t L;
    tm_rq_out_init(&L, p->output_offset, p->activation, TM_ROUNDING(p->rounding));
    const int per_channel = p->per_channel != 0;
    const int32_t *const mult = p->quant.multiplier, *const shift = p->quant.shift;
    const int fast = tm_rq_fast_all(mult, shift, per_channel ? units : 1, L.offset);
    void (*const out_fast)(const tm_rq_out_t *, const int32_t *, const int32_t *, const int32_t *, int32_t, int8_t *,
                           int) = TM_ROUNDING(L.rounding) == TINYML_ROUND_SINGLE ? fc_out_single : fc_out_double;
    /* per-tensor: the one pair four times (walked again for every quad by the portable loop) */
    const int32_t tensor_m[4] = {mult[0], mult[0], mult[0], mult[0]};
    const int32_t tensor_s[4] = {shift[0], shift[0], shift[0], shift[0]};
    int32_t acc[4 * FC_BLOCK];
    const int32_t quads = units >> 2;
    const size_t block_rows = (size_t)(4 * FC_BLOCK) * row_bytes;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * depth;
        int8_t *out = output + (size_t)b * units;
        const int8_t *w = weights;
        for (int32_t j = 0; j < quads; j += FC_BLOCK, w += block_rows) {
            const int32_t n = quads - j < FC_BLOCK ? quads - j : FC_BLOCK;
            const int32_t u0 = 4 * j;
            acc_block(x, w, depth, folded_bias + u0, acc, n);
            if (fast) {
                if (per_channel) {
                    out_fast(&L, acc, mult + u0, shift + u0, n, out + u0, 0);
                } else {
                    out_fast(&L, acc, tensor_m, tensor_s, n, out + u0, 1);
                }
            } else {
                for (int32_t i = 0; i < 4 * n; ++i) {
                    const int32_t q = per_channel ? u0 + i : 0;
                    out[u0 + i] = (int8_t)tm_rq_out_one(&L, acc[i], mult[q], shift[q], 0);
                }
            }
        }
        w = weights + (size_t)(4 * quads) * depth;
        for (int32_t u = 4 * quads; u < units; ++u, w += depth) {
            const int32_t q = per_channel ? u : 0;
            out[u] = (int8_t)tm_rq_out_one(&L, tm_dot_s8(x, w, depth, folded_bias[u]), mult[q], shift[q], fast);
        }
    }
}

void tinyml_fully_connected_s8_fast(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                    const int8_t *weights, const int32_t *folded_bias, int8_t *output)
{
    fc_run(p, input, weights, (size_t)p->input_depth, fc_acc_block, folded_bias, output);
}

/* ---- int16 weights: tinyml_fully_connected_s8_fast_w16 -----------------------
 * The weights were widened at compile time into the order the 1 x 4 tile reads them: per
 * unit quad and group of four depth values, each of the four rows' even pair (w0, w2) and odd
 * pair (w1, w3) (32 bytes; kernels.h). A step splits only the input word: 1 LDR and 2 SXTB16,
 * then per row 1 LDRD and 2 SMLAD, 15 instructions for 16 MACs instead of 23. The depth is a
 * multiple of 8 (two steps an iteration, no tail) and units a multiple of 4 (no 1-wide rows):
 * the compiler picks this variant only then. The output stage is the int8 kernel's. */

#if TINYML_HAVE_DSP && defined(__GNUC__)
#define FC16_ROW(ACC)                                                        \
    "ldrd   %[f2], %[f], [%[w]], #8\n\t"                                     \
    "smlad  %[" ACC "], %[xe], %[f2], %[" ACC "]\n\t"                        \
    "smlad  %[" ACC "], %[xo], %[f], %[" ACC "]\n\t"
#define FC16_STEP_1X4                                                        \
    "ldr    %[xo], [%[x]], #4\n\t"                                           \
    "sxtb16 %[xe], %[xo]\n\t"                                                \
    "sxtb16 %[xo], %[xo], ror #8\n\t"                                        \
    FC16_ROW("a0") FC16_ROW("a1") FC16_ROW("a2") FC16_ROW("a3")
#endif

/* acc[4j + i] = bias[4j + i] + dot(row 4j + i, x) for n unit quads of widened weights from w. */
FC_NOINLINE void fc_acc_block_w16(const int8_t *x, const int8_t *w, int32_t depth, const int32_t *bias, int32_t *acc,
                                  int32_t n)
{
    const int8_t *const end = x + depth;
    for (; n > 0; --n, bias += 4, acc += 4) {
        int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
        const int8_t *xp = x;
#if TINYML_HAVE_DSP && defined(__GNUC__)
        int32_t xe, xo, f, f2;
        __asm__("1:\n\t" FC16_STEP_1X4 FC16_STEP_1X4
                "cmp    %[x], %[end]\n\t"
                "bne    1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(xp), [w] "+r"(w),
                  [xe] "=&r"(xe), [xo] "=&r"(xo), [f] "=&r"(f), [f2] "=&r"(f2)
                : [end] "r"(end)
                : "cc", "memory");
#else
        for (; xp != end; xp += 4, w += 32) {
            const int32_t v = tm_load_s8x4(xp);
            const int32_t ve = tm_sxtb16(v), vo = tm_sxtb16_ror8(v);
            a0 = tm_smlad(vo, tm_load_s8x4(w + 4), tm_smlad(ve, tm_load_s8x4(w), a0));
            a1 = tm_smlad(vo, tm_load_s8x4(w + 12), tm_smlad(ve, tm_load_s8x4(w + 8), a1));
            a2 = tm_smlad(vo, tm_load_s8x4(w + 20), tm_smlad(ve, tm_load_s8x4(w + 16), a2));
            a3 = tm_smlad(vo, tm_load_s8x4(w + 28), tm_smlad(ve, tm_load_s8x4(w + 24), a3));
        }
#endif
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
}

void tinyml_fully_connected_s8_fast_w16(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                        const int16_t *weights, const int32_t *folded_bias, int8_t *output)
{
    fc_run(p, input, (const int8_t *)(const void *)weights, 2 * (size_t)p->input_depth, fc_acc_block_w16, folded_bias,
           output);
}

#endif /* !__ARM_FEATURE_MVE */
