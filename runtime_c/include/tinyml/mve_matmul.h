/*
 * tinyml/mve_matmul.h - the Helium (MVE) pieces the fast CONV_2D, pointwise CONV_2D and
 * FULLY_CONNECTED kernels share (conv2d_s8_fast_mve.c, conv2d_1x1_s8_fast_mve.c,
 * fully_connected_s8_fast_mve.c). Internal to those files; compiled only with integer
 * MVE (the same feature test as theirs), empty elsewhere.
 *
 *   tm_mve_tile_2x4(x, w, stride, len, acc)   2 pixels x 4 rows of int8 dot products   VMLADAVA.S8
 *   tm_mve_out(...)                           a layer's output side and requantization mode
 *   tm_mve_requant_2x4(o, mode, c, acc, ..)   8 outputs: 2 pixels x channels c .. c+3
 *   tm_mve_requant_1x4(o, mode, c, acc, ..)   4 outputs: channels c .. c+3
 *   tm_mve_requant1(o, c, acc)                1 output (tm_mbqm)
 *
 * Requantization. An output is clamp(tm_mbqm(acc + bias[c], multiplier[c], shift[c],
 * rounding) + output_offset, act_min, act_max), the offset added wrapping (as the
 * reference's int32 add). Four lanes go at once, exactly as tm_mbqm (tm_mve_rq4):
 *   TM_MVE_RQ_DOUBLE (TINYML_ROUND_DOUBLE), any shift in [-31, 30]:
 *       VSHL by max(shift, 0) (wrapping, as the reference's uint32 shift),
 *       VQRDMULH (= tm_srdhm for every pair: both are floor((P + 2^30) / 2^31)
 *       and saturate only INT32_MIN * INT32_MIN), then the rounding right
 *       shift by -min(shift, 0) with ties away from zero: VRSHL rounds ties
 *       up, so a negative value is first lowered by 1 (VAND with the negative
 *       shift, VSHR #31, VQADD); that moves exactly the ties, and at INT32_MIN,
 *       where VQADD saturates, both give -2^(31-e).
 *   TM_MVE_RQ_SINGLE (TINYML_ROUND_SINGLE), every shift in [-31, -1]:
 *       with e = -shift >= 1 the reference floor((P + 2^(30+e)) / 2^(31+e))
 *       is floor((floor(P / 2^31) + 2^(e-1)) / 2^e) (the rounding term is a
 *       multiple of 2^31), that is VRSHL(VQDMULH(x, m), shift): VQDMULH is
 *       floor(2 * x * m / 2^32), never saturating for m >= 0.
 *   TM_MVE_RQ_SCALAR (TINYML_ROUND_SINGLE with some shift >= 0): tm_mbqm per output.
 * tm_mve_out picks the mode once per call (the largest shift decides). Then the output
 * offset (VADD), the activation clamp (VMAX, VMIN) and a narrowing store of four bytes
 * (VSTRB.32). The requant functions are always inlined with a constant `mode`, one copy
 * of the caller's loop per mode.
 */
#ifndef TINYML_MVE_MATMUL_H
#define TINYML_MVE_MATMUL_H

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

#include <arm_mve.h>
#include <stdint.h>

#include "tinyml/kernels.h"

/* ---- the 2 pixels x 4 rows tile -----------------------------------------
 * x holds two pixels' len >= 1 int8 values each (A and B), interleaved in chunks of 16:
 * with n = len / 16 and t = len % 16 the layout is
 *     A[0, 16) B[0, 16) | A[16, 32) B[16, 32) | ... | A[16n, 16n+t) B[16n, 16n+t)
 * (2 * len bytes, no padding), so one pointer walks both. Row k (0 .. 3) is len int8
 * values at w + k * stride (stride 0: four equal rows, for fewer than 4 channels).
 * acc[0..3] = A . rows 0..3, acc[4..7] = B . rows 0..3 (raw int8 products, int32 sums;
 * acc word aligned, x and w any alignment). A step loads 16 values of each pixel and
 * of each row (VLDRB.8, 6 loads) and adds 8 dot products of 16 int8 pairs into 8 scalar
 * accumulators (VMLADAVA.S8): 14 instructions for 128 MACs, two steps per loop iteration.
 * The t-value tail runs with the lanes beyond t predicated off (VCTP.8): nothing is read
 * past the 2 * len bytes of x or the len bytes of a row.
 * Registers: accumulators r0 r2 r4 r6 (A), r8 r10 r12 lr (B) (VMLADAV writes even
 * registers only), x r1, rows r3 r5 r7 r9, the step count r11, len and acc on the stack; q0
 * q1 the inputs, q2 q3 the filters (q4-q7 are callee-saved and not used; flags, VPR and
 * q0-q3 are caller-saved). The first full step starts the accumulators (VMLADAV), the
 * others add (VMLADAVA); a len < 16 has only the tail, which then starts them. Out of line
 * and naked (`unused`: a file may include this header for the requantization only). */
#define TM_MVE_2X4_STEP(MAC)                                                                                     \
    "vldrb.8     q1, [r1, #16]\n\t"                                                                               \
    "vldrb.8     q0, [r1], #32\n\t"                                                                               \
    "vldrb.8     q2, [r3], #16\n\t"                                                                               \
    "vldrb.8     q3, [r5], #16\n\t"                                                                               \
    MAC "        r0, q0, q2\n\t"                                                                                  \
    MAC "        r8, q1, q2\n\t"                                                                                  \
    "vldrb.8     q2, [r7], #16\n\t"                                                                               \
    MAC "        r2, q0, q3\n\t"                                                                                  \
    MAC "        r10, q1, q3\n\t"                                                                                 \
    "vldrb.8     q3, [r9], #16\n\t"                                                                               \
    MAC "        r4, q0, q2\n\t"                                                                                  \
    MAC "        r12, q1, q2\n\t"                                                                                 \
    MAC "        r6, q0, q3\n\t"                                                                                  \
    MAC "        lr, q1, q3\n\t"
/* the tail: t = r11 (1 .. 15) values, A's at r1, B's right after them; other lanes predicated off */
#define TM_MVE_2X4_TAIL(MAC)                                                                                     \
    "vctp.8      r11\n\t"                                                                                          \
    "vpstt\n\t"                                                                                                    \
    "vldrbt.8    q0, [r1]\n\t"                                                                                     \
    "vldrbt.8    q2, [r3]\n\t"                                                                                     \
    "add         r1, r1, r11\n\t"                                                                                  \
    "vpstt\n\t"                                                                                                    \
    "vldrbt.8    q1, [r1]\n\t"                                                                                     \
    "vldrbt.8    q3, [r5]\n\t"                                                                                     \
    MAC "        r0, q0, q2\n\t"                                                                                  \
    MAC "        r8, q1, q2\n\t"                                                                                  \
    MAC "        r2, q0, q3\n\t"                                                                                  \
    MAC "        r10, q1, q3\n\t"                                                                                 \
    "vpstt\n\t"                                                                                                    \
    "vldrbt.8    q2, [r7]\n\t"                                                                                     \
    "vldrbt.8    q3, [r9]\n\t"                                                                                     \
    MAC "        r4, q0, q2\n\t"                                                                                  \
    MAC "        r12, q1, q2\n\t"                                                                                 \
    MAC "        r6, q0, q3\n\t"                                                                                  \
    MAC "        lr, q1, q3\n\t"
#define TM_MVE_2X4_START "vmladav.s8"
#define TM_MVE_2X4_ADD "vmladava.s8"

__attribute__((naked, noinline, unused)) static void tm_mve_tile_2x4(const int8_t *x, const int8_t *w, int32_t stride,
                                                                     int32_t len, int32_t *acc)
{
    (void)x;
    (void)w;
    (void)stride;
    (void)len;
    (void)acc;
    __asm__ volatile(
        "push        {r3-r11, lr}\n\t"   /* len at [sp], acc at [sp, #40] */
        "lsrs        r11, r3, #4\n\t"     /* full steps; Z: none */
        "add         r5, r1, r2\n\t"
        "add         r7, r5, r2\n\t"
        "add         r9, r7, r2\n\t"
        "mov         r3, r1\n\t"
        "mov         r1, r0\n\t"
        "beq         5f\n\t"
        TM_MVE_2X4_STEP(TM_MVE_2X4_START)
        "subs        r11, r11, #1\n\t"
        "lsrs        r11, r11, #1\n\t"    /* pairs of steps; C: one more, Z: no pair */
        "bcc         2f\n\t"
        TM_MVE_2X4_STEP(TM_MVE_2X4_ADD)
        "2:\n\t"
        "beq         3f\n\t"
        "1:\n\t"
        TM_MVE_2X4_STEP(TM_MVE_2X4_ADD)
        TM_MVE_2X4_STEP(TM_MVE_2X4_ADD)
        "subs        r11, r11, #1\n\t"
        "bne         1b\n\t"
        "3:\n\t"
        "ldr         r11, [sp]\n\t"
        "ands        r11, r11, #15\n\t"
        "beq         4f\n\t"
        TM_MVE_2X4_TAIL(TM_MVE_2X4_ADD)
        "4:\n\t"
        "ldr         r1, [sp, #40]\n\t"
        "stm         r1, {r0, r2, r4, r6, r8, r10, r12, lr}\n\t"
        "pop         {r3-r11, pc}\n\t"
        "5:\n\t"
        "ldr         r11, [sp]\n\t"       /* len < 16 */
        TM_MVE_2X4_TAIL(TM_MVE_2X4_START)
        "b           4b\n\t");
}

#undef TM_MVE_2X4_STEP
#undef TM_MVE_2X4_TAIL
#undef TM_MVE_2X4_START
#undef TM_MVE_2X4_ADD

/* ---- the output side ----------------------------------------------------- */

typedef enum { TM_MVE_RQ_DOUBLE, TM_MVE_RQ_SINGLE, TM_MVE_RQ_SCALAR } tm_mve_rq_mode_t;

/* A layer's output side, as the requant functions read it. */
typedef struct {
    const int32_t *bias, *multiplier, *shift; /* bias (folded) per channel; multiplier, shift as per_channel */
    int32_t offset, act_min, act_max;         /* output offset; activation.min <= activation.max */
    tinyml_rounding_t rounding;
    tm_mve_rq_mode_t mode;
    int32_t per_channel; /* 0: multiplier[0], shift[0] for every channel (read by _1x4 and requant1) */
} tm_mve_out_t;

/* The largest of shift[0 .. n-1] (n >= 1), four at a time. */
static inline int32_t tm_mve_max_shift(const int32_t *shift, int32_t n)
{
    int32_t k = 0, m = shift[0];
    for (; k + 4 <= n; k += 4) {
        m = vmaxvq_s32(m, vldrwq_s32(shift + k));
    }
    for (; k < n; ++k) {
        m = shift[k] > m ? shift[k] : m;
    }
    return m;
}

/* The output side of a layer with `channels` >= 1 outputs per pixel: bias (folded_bias,
 * `channels` entries), quant ([channels] pairs, or [1] when !per_channel; multipliers in
 * [0, 2^31), shifts in [-31, 30]) and its mode: TM_MVE_RQ_DOUBLE for TINYML_ROUND_DOUBLE;
 * for TINYML_ROUND_SINGLE, TM_MVE_RQ_SINGLE when every shift used is <= -1, else
 * TM_MVE_RQ_SCALAR (the shifts are read here, once per call). */
static inline tm_mve_out_t tm_mve_out(const int32_t *folded_bias, tinyml_per_channel_quant_t quant, int32_t per_channel,
                                      int32_t channels, int32_t output_offset, tinyml_activation_t activation,
                                      tinyml_rounding_t rounding)
{
    tm_mve_out_t o;
    o.bias = folded_bias;
    o.multiplier = quant.multiplier;
    o.shift = quant.shift;
    o.offset = output_offset;
    o.act_min = activation.min;
    o.act_max = activation.max;
    o.rounding = rounding;
    o.per_channel = per_channel != 0;
    o.mode = TM_MVE_RQ_DOUBLE;
    if (TM_ROUNDING(rounding) == TINYML_ROUND_SINGLE) {
        o.mode = tm_mve_max_shift(o.shift, o.per_channel ? channels : 1) < 0 ? TM_MVE_RQ_SINGLE : TM_MVE_RQ_SCALAR;
    }
    return o;
}

/* Four lanes x (bias added) requantized exactly as tm_mbqm with the lanes' multipliers m and
 * shifts sh, plus the output offset (wrapping). mode: TM_MVE_RQ_DOUBLE, or TM_MVE_RQ_SINGLE
 * with every shift <= -1 (a constant). */
__attribute__((always_inline)) static inline int32x4_t tm_mve_rq4(const tm_mve_out_t *o, tm_mve_rq_mode_t mode,
                                                                  int32x4_t x, int32x4_t m, int32x4_t sh)
{
    if (mode == TM_MVE_RQ_DOUBLE) {
        const int32x4_t zero = vdupq_n_s32(0);
        const int32x4_t right = vminq_s32(sh, zero);
        x = vqrdmulhq_s32(vshlq_s32(x, vmaxq_s32(sh, zero)), m);
        x = vrshlq_s32(vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right), 31)), right);
    } else {
        x = vrshlq_s32(vqdmulhq_s32(x, m), sh);
    }
    return vaddq_n_s32(x, o->offset);
}

/* tm_mbqm of x (bias added) with the pair q, plus the output offset (wrapping): any mode. */
static inline int32_t tm_mve_mbqm(const tm_mve_out_t *o, int32_t x, int32_t q)
{
    return (int32_t)((uint32_t)tm_mbqm(x, o->multiplier[q], o->shift[q], TM_ROUNDING(o->rounding)) + (uint32_t)o->offset);
}

/* Four lanes clamped to the activation range and stored as four bytes at out (any alignment). */
__attribute__((always_inline)) static inline void tm_mve_clamp_store4(const tm_mve_out_t *o, int8_t *out, int32x4_t v)
{
    vstrbq_s32(out, vminq_s32(vmaxq_s32(v, vdupq_n_s32(o->act_min)), vdupq_n_s32(o->act_max)));
}

/* The outputs of channels c .. c+3 of two pixels for tm_mve_tile_2x4's accumulators acc[0..7]
 * (bias not yet added; acc word aligned): A's to out_a + c, B's to out_b + c. Per-channel
 * only (o->per_channel is not read). `mode` is a constant in every instantiation. */
__attribute__((always_inline)) static inline void tm_mve_requant_2x4(const tm_mve_out_t *o, tm_mve_rq_mode_t mode,
                                                                     int32_t c, const int32_t *acc, int8_t *out_a,
                                                                     int8_t *out_b)
{
    const int32x4_t bias = vldrwq_s32(o->bias + c);
    int32x4_t va = vaddq_s32(vldrwq_s32(acc), bias), vb = vaddq_s32(vldrwq_s32(acc + 4), bias);
    if (mode == TM_MVE_RQ_SCALAR) {
        int32_t r[8] __attribute__((aligned(16)));
        vstrwq_s32(r, va);
        vstrwq_s32(r + 4, vb);
        for (int k = 0; k < 8; ++k) {
            r[k] = tm_mve_mbqm(o, r[k], c + (k & 3));
        }
        va = vldrwq_s32(r);
        vb = vldrwq_s32(r + 4);
    } else {
        const int32x4_t m = vldrwq_s32(o->multiplier + c), sh = vldrwq_s32(o->shift + c);
        va = tm_mve_rq4(o, mode, va, m, sh);
        vb = tm_mve_rq4(o, mode, vb, m, sh);
    }
    tm_mve_clamp_store4(o, out_a + c, va);
    tm_mve_clamp_store4(o, out_b + c, vb);
}

/* The outputs of channels c .. c+3 of one pixel for the accumulators acc[0..3] (bias not yet
 * added; acc word aligned) to out. m and sh: the per-tensor multiplier and shift in every
 * lane, used when !o->per_channel. `mode` is a constant in every instantiation. */
__attribute__((always_inline)) static inline void tm_mve_requant_1x4(const tm_mve_out_t *o, tm_mve_rq_mode_t mode,
                                                                     int32_t c, const int32_t *acc, int32x4_t m,
                                                                     int32x4_t sh, int8_t *out)
{
    int32x4_t v = vaddq_s32(vldrwq_s32(acc), vldrwq_s32(o->bias + c));
    if (mode == TM_MVE_RQ_SCALAR) {
        int32_t r[4] __attribute__((aligned(16)));
        vstrwq_s32(r, v);
        for (int k = 0; k < 4; ++k) {
            r[k] = tm_mve_mbqm(o, r[k], o->per_channel ? c + k : 0);
        }
        v = vldrwq_s32(r);
    } else {
        if (o->per_channel) {
            m = vldrwq_s32(o->multiplier + c);
            sh = vldrwq_s32(o->shift + c);
        }
        v = tm_mve_rq4(o, mode, v, m, sh);
    }
    tm_mve_clamp_store4(o, out, v);
}

/* One output of channel c for the accumulator acc (bias not yet added): any mode, tm_mbqm. */
static inline int8_t tm_mve_requant1(const tm_mve_out_t *o, int32_t c, int32_t acc)
{
    const int32_t x = (int32_t)((uint32_t)acc + (uint32_t)o->bias[c]);
    return (int8_t)tm_clamp(tm_mve_mbqm(o, x, o->per_channel ? c : 0), o->act_min, o->act_max);
}

#endif /* __ARM_FEATURE_MVE & 1 */

#endif /* TINYML_MVE_MATMUL_H */
