/*
 * tinyml/dsp_matmul.h - the pieces the DSP (ARMv7E-M, Cortex-M4/M7) and portable builds of
 * the fast CONV_2D, pointwise CONV_2D and FULLY_CONNECTED kernels share (conv2d_s8_fast.c,
 * conv2d_1x1_s8_fast.c, fully_connected_s8_fast.c). Internal to those files. Written with
 * simd.h's primitives, so every piece is the same arithmetic on every build.
 *
 *   tm_dot4_2x2(r0, r1, c0, c1, ...)     one step of a 2 x 2 tile in C: a word of each operand
 *   tm_dot1_2x2(r0, r1, c0, c1, ...)     the same for one value of each (the len % 4 tails)
 *   tm_dot_s8(u, v, len, acc)            acc + u . v                   the narrow tiles (odd
 *   tm_dot_s8_1x2(u, v0, v1, len, acc)   acc[j] += u . v_j, j = 0, 1   channel / pixel / unit counts)
 *   tm_rq_out_t, tm_rq_out_init          a layer's output offset and activation, packed for SIMD
 *   tm_rq_out_one(o, acc, m, s, fast)    one requantized, offset and clamped output
 *   tm_rq_fast_h_oo(oo, r)               tm_rq_fast_h from oo = 2 * offset + 1 and r
 *   TM_RQ_ASM_LOAD, TM_RQ_ASM_DOUBLE,    the output stages' assembly (DSP builds, GNU C):
 *   TM_RQ_ASM_SINGLE, TM_RQ_ASM_CLAMP4   tm_rq_fast_* and the per-byte clamp
 *
 * Requantization (see simd.h, "Fast requantization"): an output is
 * clamp(tm_mbqm(acc, m, s, rounding) + offset, act_min, act_max). When every channel's (m, s)
 * passes tm_rq_fast_all (shift in [-21, -2], checked once per call: `fast`) it is
 * tm_rq_fast_double / tm_rq_fast_single(acc, m, h, r) with r = tm_rq_fast_r(s) = ~s and
 * h = tm_rq_fast_h(s, offset) = (oo << r) >> 1, oo = 2 * offset + 1: exact for every int32
 * accumulator, the offset folded in.
 */
#ifndef TINYML_DSP_MATMUL_H
#define TINYML_DSP_MATMUL_H

#include <stdint.h>

#include "tinyml/kernels.h"
#include "tinyml/simd.h"

/* the callers rely on inlining with constant arguments (as their own *_INLINE macros) */
#if defined(__GNUC__)
#define TM_DSP_INLINE static inline __attribute__((always_inline))
#else
#define TM_DSP_INLINE static inline
#endif

/* ---- dot products of int8 rows --------------------------------------------
 * Words of 4 int8 values (tm_load_s8x4, any alignment) are split into their even and odd
 * int16 pairs (tm_sxtb16, tm_sxtb16_ror8; both operands alike, so the dot product is
 * unchanged) and multiplied two pairs at a time (tm_smlad); the sums wrap modulo 2^32, as
 * the kernels' accumulators. The rows of tm_dot_s8 and tm_dot_s8_1x2 are len >= 0 values,
 * four a step, then a scalar len % 4 tail. */

/* One 4-value step of a 2 x 2 tile, the words r0, r1 (4 int8 values of two rows) against
 * c0, c1 (of two columns): *a_ij += r_i . c_j, each word split once (8 SXTB16, 8 SMLAD). */
TM_DSP_INLINE void tm_dot4_2x2(int32_t r0, int32_t r1, int32_t c0, int32_t c1, int32_t *a00, int32_t *a01,
                               int32_t *a10, int32_t *a11)
{
    const int32_t r0_e = tm_sxtb16(r0), r0_o = tm_sxtb16_ror8(r0);
    const int32_t r1_e = tm_sxtb16(r1), r1_o = tm_sxtb16_ror8(r1);
    const int32_t c0_e = tm_sxtb16(c0), c0_o = tm_sxtb16_ror8(c0);
    const int32_t c1_e = tm_sxtb16(c1), c1_o = tm_sxtb16_ror8(c1);
    *a00 = tm_smlad(r0_o, c0_o, tm_smlad(r0_e, c0_e, *a00));
    *a01 = tm_smlad(r0_o, c1_o, tm_smlad(r0_e, c1_e, *a01));
    *a10 = tm_smlad(r1_o, c0_o, tm_smlad(r1_e, c0_e, *a10));
    *a11 = tm_smlad(r1_o, c1_o, tm_smlad(r1_e, c1_e, *a11));
}

/* The same for one value of each (r0, r1, c0, c1: int8 values): the len % 4 tails. */
TM_DSP_INLINE void tm_dot1_2x2(int32_t r0, int32_t r1, int32_t c0, int32_t c1, int32_t *a00, int32_t *a01,
                               int32_t *a10, int32_t *a11)
{
    *a00 += r0 * c0;
    *a01 += r0 * c1;
    *a10 += r1 * c0;
    *a11 += r1 * c1;
}

/* One row u against rows v0, v1: acc[j] += u . v_j. */
TM_DSP_INLINE void tm_dot_s8_1x2(const int8_t *u, const int8_t *v0, const int8_t *v1, int32_t len, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    for (int32_t k = len >> 2; k > 0; --k, u += 4, v0 += 4, v1 += 4) {
        const int32_t uw = tm_load_s8x4(u), va = tm_load_s8x4(v0), vb = tm_load_s8x4(v1);
        const int32_t u_e = tm_sxtb16(uw), u_o = tm_sxtb16_ror8(uw);
        a0 = tm_smlad(u_o, tm_sxtb16_ror8(va), tm_smlad(u_e, tm_sxtb16(va), a0));
        a1 = tm_smlad(u_o, tm_sxtb16_ror8(vb), tm_smlad(u_e, tm_sxtb16(vb), a1));
    }
    for (int32_t k = len & 3; k > 0; --k) {
        const int32_t uv = *u++;
        a0 += uv * *v0++;
        a1 += uv * *v1++;
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One row against one row: acc + u . v. */
TM_DSP_INLINE int32_t tm_dot_s8(const int8_t *u, const int8_t *v, int32_t len, int32_t acc)
{
    for (int32_t k = len >> 2; k > 0; --k, u += 4, v += 4) {
        const int32_t uw = tm_load_s8x4(u), vw = tm_load_s8x4(v);
        acc = tm_smlad(tm_sxtb16(uw), tm_sxtb16(vw), acc);
        acc = tm_smlad(tm_sxtb16_ror8(uw), tm_sxtb16_ror8(vw), acc);
    }
    for (int32_t k = len & 3; k > 0; --k) {
        acc += *u++ * *v++;
    }
    return acc;
}

/* ---- the output side ------------------------------------------------------ */

/* A layer's output offset and activation range, with what the SIMD output stages need. */
typedef struct {
    int32_t offset, act_min, act_max; /* output offset in [-128, 127]; -128 <= act_min <= act_max <= 127 */
    int32_t oo;                       /* 2 * offset + 1: tm_rq_fast_h(shift, offset) == (oo << r) >> 1 */
    int32_t min4, max4;               /* act_min, act_max in every byte (tm_max_s8x4 / tm_min_s8x4) */
    tinyml_rounding_t rounding;
} tm_rq_out_t;

static inline void tm_rq_out_init(tm_rq_out_t *o, int32_t output_offset, tinyml_activation_t activation,
                                  tinyml_rounding_t rounding)
{
    o->offset = output_offset;
    o->act_min = activation.min;
    o->act_max = activation.max;
    o->oo = 2 * output_offset + 1;
    o->min4 = tm_dup_s8x4(activation.min);
    o->max4 = tm_dup_s8x4(activation.max);
    o->rounding = rounding;
}

/* tm_rq_fast_h(shift, offset) for oo = 2 * offset + 1 and r = tm_rq_fast_r(shift) at hand. */
static inline int32_t tm_rq_fast_h_oo(int32_t oo, int32_t r)
{
    return (int32_t)((uint32_t)oo << r) >> 1;
}

/* The output for accumulator acc with the pair (m, s): requantized (`fast`: tm_rq_fast_*, the
 * caller has checked the pair with tm_rq_fast_all; else tm_mbqm, any pair), offset and
 * clamped to the activation range. */
static inline int32_t tm_rq_out_one(const tm_rq_out_t *o, int32_t acc, int32_t m, int32_t s, int fast)
{
    int32_t v;
    if (fast) {
        const int32_t h = tm_rq_fast_h(s, o->offset), r = tm_rq_fast_r(s);
        v = TM_ROUNDING(o->rounding) == TINYML_ROUND_SINGLE ? tm_rq_fast_single(acc, m, h, r) : tm_rq_fast_double(acc, m, h, r);
    } else {
        v = tm_mbqm(acc, m, s, TM_ROUNDING(o->rounding)) + o->offset;
    }
    return tm_clamp(v, o->act_min, o->act_max);
}

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* ---- the output stages in assembly ---------------------------------------
 * Fragments of asm statements whose operands have these names (all "r" but the two "m"):
 *   %[mp], %[shp]  multiplier and shift pointers, advanced one channel by TM_RQ_ASM_LOAD
 *   %[oo]          2 * offset + 1 (tm_rq_out_t.oo)
 *   %[m], %[r], %[h]  the channel's multiplier, r = ~shift and h = (oo << r) >> 1
 *   %[x]           the accumulator (input of TM_RQ_ASM_DOUBLE / _SINGLE), else a temporary
 *   %[lo], %[hi]   temporaries (the 64-bit addend of tm_rq_fast_double)
 *   %[v]           the word of four output bytes
 *   %[min4], %[max4]  memory operands: tm_rq_out_t.min4, .max4
 * (the flags too: "cc"). The accumulator must be in range of the `fast` check. */

/* The next channel's m, r and h from [mp], [shp] (post-incremented): LDR, LDR, MVN, LSL, ASR. */
#define TM_RQ_ASM_LOAD                                                       \
    "ldr    %[m], [%[mp]], #4\n\t"                                           \
    "ldr    %[r], [%[shp]], #4\n\t"                                          \
    "mvn    %[r], %[r]\n\t"                                                  \
    "lsl    %[h], %[oo], %[r]\n\t"                                           \
    "asr    %[h], %[h], #1\n\t"
/* DST = ssat8(tm_rq_fast_double(x, m, h, r)): AND, ADD, ADD, SMLAL, ASR, SSAT. */
#define TM_RQ_ASM_DOUBLE(DST)                                                \
    "and    %[lo], %[x], #0x80000000\n\t"                                    \
    "add    %[lo], %[lo], #0x40000000\n\t"                                   \
    "add    %[hi], %[h], %[x], asr #31\n\t"                                  \
    "smlal  %[lo], %[hi], %[x], %[m]\n\t"                                    \
    "asr    " DST ", %[hi], %[r]\n\t"                                        \
    "ssat   " DST ", #8, " DST "\n\t"
/* DST = ssat8(tm_rq_fast_single(x, m, h, r)): SMMLA, ASR, SSAT. */
#define TM_RQ_ASM_SINGLE(DST)                                                \
    "smmla  " DST ", %[x], %[m], %[h]\n\t"                                   \
    "asr    " DST ", " DST ", %[r]\n\t"                                      \
    "ssat   " DST ", #8, " DST "\n\t"
/* v clamped per byte to [act_min, act_max] (tm_min_s8x4 with max4, then tm_max_s8x4 with
 * min4: SSUB8 + SEL each); x and hi are overwritten. */
#define TM_RQ_ASM_CLAMP4                                                     \
    "ldr    %[x], %[max4]\n\t"                                               \
    "ssub8  %[hi], %[v], %[x]\n\t"                                           \
    "sel    %[v], %[x], %[v]\n\t"                                            \
    "ldr    %[x], %[min4]\n\t"                                               \
    "ssub8  %[hi], %[v], %[x]\n\t"                                           \
    "sel    %[v], %[v], %[x]\n\t"
#endif

#endif /* TINYML_DSP_MATMUL_H */
