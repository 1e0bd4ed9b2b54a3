/*
 * CONV_2D with a 1x1 kernel, stride 1, no padding (pointwise), int8,
 * per-channel requantization: the Helium (MVE, Cortex-M55) build of
 * tinyml_conv2d_1x1_s8_fast, bit-identical to tinyml_conv2d_1x1_s8 (and so to
 * tinyml_conv2d_s8) for any pixel and channel count. Compiled only with
 * integer MVE; conv2d_1x1_s8_fast.c holds the other builds.
 *
 * Blocking. Pixels (all batches, row-major) go two at a time, A and B. Both
 * pixels' C_in bytes are first copied into `scratch`, interleaved in chunks
 * of 16: with n = C_in / 16 and t = C_in % 16 the layout is
 *     A[0, 16) B[0, 16) | A[16, 32) B[16, 32) | ... | A[16n, 16n+t) B[16n, 16n+t)
 * (2 * C_in bytes, no padding), so one pointer walks both pixels. For every
 * group of four output channels a 2 pixels x 4 channels tile (pw_tile_2x4, in
 * assembly) accumulates over C_in: a step loads 16 input values of each
 * pixel and 16 filter values of each channel (VLDRB.8, 6 loads) and adds
 * 8 dot products of 16 int8 pairs into 8 scalar accumulators (VMLADAVA.S8):
 * 14 instructions for 128 MACs, two steps per loop iteration. The first step
 * starts the accumulators (VMLADAV); the t-value tail runs with the lanes
 * beyond t predicated off (VCTP.8; predicated loads read nothing there and
 * give 0). The accumulators go to the stack with one STM.
 * A C_out that is not a multiple of 4 ends with the group of the last four
 * channels (it recomputes up to 3 channels and stores the same bytes again);
 * C_out < 4 runs each channel as a tile of four equal rows. An odd last
 * pixel is copied into both halves of the scratch; B's outputs are then A's
 * and are stored to the same place.
 *
 * Arithmetic. The accumulators hold sum(x * w) over raw int8 values; adding
 * folded_bias[c] = bias[c] + input_offset * sum(filter[c]) gives the
 * reference's sum((x + input_offset) * w) + bias modulo 2^32. Four channels of
 * a pixel are requantized at once, exactly as tm_mbqm (pw_requant_2x4):
 *   TINYML_ROUND_DOUBLE, any shift in [-31, 30]:
 *       VSHL by max(shift, 0) (wrapping, as the reference's uint32 shift),
 *       VQRDMULH (= tm_srdhm for every pair: both are floor((P + 2^30) / 2^31)
 *       and saturate only INT32_MIN * INT32_MIN), then the rounding right
 *       shift by -min(shift, 0) with ties away from zero: VRSHL rounds ties
 *       up, so a negative value is first lowered by 1 (VAND with the negative
 *       shift, VSHR #31, VQADD); that moves exactly the ties, and at INT32_MIN,
 *       where VQADD saturates, both give -2^(31-e).
 *   TINYML_ROUND_SINGLE, every shift in [-31, -1] (checked once per call):
 *       with e = -shift >= 1 the reference floor((P + 2^(30+e)) / 2^(31+e))
 *       is floor((floor(P / 2^31) + 2^(e-1)) / 2^e) (the rounding term is a
 *       multiple of 2^31), that is VRSHL(VQDMULH(x, m), shift): VQDMULH is
 *       floor(2 * x * m / 2^32), never saturating for m >= 0.
 *   TINYML_ROUND_SINGLE with some shift >= 0: tm_mbqm per output.
 * Then the output offset (wrapping add, as the reference's int32 add), the
 * activation clamp (VMAX, VMIN) and a narrowing store of four bytes (VSTRB.32).
 *
 * Overlap. As for tinyml_conv2d_1x1_s8, the output may overlap the input if
 *     output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels)
 * bytes: a pixel pair is copied into scratch before any of its outputs is
 * written, and the rule keeps the outputs of pixels 0 .. i+1 below the start
 * of input pixel i+2.
 *
 * Scratch: tinyml_conv2d_1x1_s8_fast_scratch_size() = 2 * C_in bytes (the
 * size of the other builds), any alignment. Kernels never allocate.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

#include <arm_mve.h>
#include <stdint.h>

#include "tinyml/kernels.h"

size_t tinyml_conv2d_1x1_s8_fast_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)2 * (size_t)p->input.c;
}

/* ---- the 2 pixels x 4 channels tile -------------------------------------
 * acc[0..3] = A . rows 0..3, acc[4..7] = B . rows 0..3, where x is the
 * interleaved scratch of the pair (layout above, len >= 1 values per pixel)
 * and row k starts at w + k * stride. Registers: accumulators r0 r2 r4 r6 (A),
 * r8 r10 r12 lr (B) (VMLADAV writes even registers only), x r1, rows r3 r5 r7
 * r9, the step count r11, len and acc on the stack; q0 q1 the inputs, q2 q3 the
 * filters (q4-q7 are callee-saved and not used; flags, VPR and q0-q3 are
 * caller-saved). The first full step starts the accumulators (VMLADAV), the
 * others add (VMLADAVA); a len < 16 has only the tail, which then starts them. */
#define PW_STEP(MAC)                                                                                             \
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
#define PW_TAIL(MAC)                                                                                             \
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
#define PW_START "vmladav.s8"
#define PW_ADD "vmladava.s8"

__attribute__((naked, noinline)) static void pw_tile_2x4(const int8_t *x, const int8_t *w, int32_t stride,
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
        PW_STEP(PW_START)
        "subs        r11, r11, #1\n\t"
        "lsrs        r11, r11, #1\n\t"    /* pairs of steps; C: one more, Z: no pair */
        "bcc         2f\n\t"
        PW_STEP(PW_ADD)
        "2:\n\t"
        "beq         3f\n\t"
        "1:\n\t"
        PW_STEP(PW_ADD)
        PW_STEP(PW_ADD)
        "subs        r11, r11, #1\n\t"
        "bne         1b\n\t"
        "3:\n\t"
        "ldr         r11, [sp]\n\t"
        "ands        r11, r11, #15\n\t"
        "beq         4f\n\t"
        PW_TAIL(PW_ADD)
        "4:\n\t"
        "ldr         r1, [sp, #40]\n\t"
        "stm         r1, {r0, r2, r4, r6, r8, r10, r12, lr}\n\t"
        "pop         {r3-r11, pc}\n\t"
        "5:\n\t"
        "ldr         r11, [sp]\n\t"       /* len < 16 */
        PW_TAIL(PW_START)
        "b           4b\n\t");
}

/* ---- requantization ------------------------------------------------------ */

/* The largest of shift[0 .. n-1] (n >= 1), four at a time. */
static int32_t pw_max_shift(const int32_t *shift, int32_t n)
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

typedef enum { PW_RQ_DOUBLE, PW_RQ_SINGLE, PW_RQ_SCALAR } pw_rq_mode_t;

typedef struct {
    const int32_t *bias, *multiplier, *shift;
    int32_t offset, act_min, act_max;
    tinyml_rounding_t rounding;
    pw_rq_mode_t mode;
} pw_out_t;

static pw_out_t pw_out(const tinyml_conv2d_params_t *p, const int32_t *folded_bias)
{
    pw_out_t o;
    o.bias = folded_bias;
    o.multiplier = p->quant.multiplier;
    o.shift = p->quant.shift;
    o.offset = p->output_offset;
    o.act_min = p->activation.min;
    o.act_max = p->activation.max;
    o.rounding = p->rounding;
    o.mode = PW_RQ_DOUBLE;
    if (p->rounding == TINYML_ROUND_SINGLE) {
        o.mode = pw_max_shift(o.shift, p->output.c) < 0 ? PW_RQ_SINGLE : PW_RQ_SCALAR;
    }
    return o;
}

/* The outputs of channels c .. c+3 of both pixels for the tile's accumulators (bias not yet
 * added): A's to out_a + c, B's to out_b + c. `mode` is a constant in every instantiation. */
__attribute__((always_inline)) static inline void pw_requant_2x4(const pw_out_t *o, pw_rq_mode_t mode, int32_t c,
                                                                 const int32_t *acc, int8_t *out_a, int8_t *out_b)
{
    const int32x4_t bias = vldrwq_s32(o->bias + c);
    int32x4_t va = vaddq_s32(vldrwq_s32(acc), bias), vb = vaddq_s32(vldrwq_s32(acc + 4), bias);
    if (mode == PW_RQ_SCALAR) {
        int32_t r[8] __attribute__((aligned(16)));
        vstrwq_s32(r, va);
        vstrwq_s32(r + 4, vb);
        for (int k = 0; k < 8; ++k) {
            const int32_t ch = c + (k & 3);
            r[k] = (int32_t)((uint32_t)tm_mbqm(r[k], o->multiplier[ch], o->shift[ch], o->rounding) +
                             (uint32_t)o->offset);
        }
        va = vldrwq_s32(r);
        vb = vldrwq_s32(r + 4);
    } else {
        const int32x4_t m = vldrwq_s32(o->multiplier + c), sh = vldrwq_s32(o->shift + c);
        if (mode == PW_RQ_DOUBLE) {
            const int32x4_t zero = vdupq_n_s32(0);
            const int32x4_t left = vmaxq_s32(sh, zero), right = vminq_s32(sh, zero);
            va = vqrdmulhq_s32(vshlq_s32(va, left), m);
            vb = vqrdmulhq_s32(vshlq_s32(vb, left), m);
            va = vrshlq_s32(vqaddq_s32(va, vshrq_n_s32(vandq_s32(va, right), 31)), right);
            vb = vrshlq_s32(vqaddq_s32(vb, vshrq_n_s32(vandq_s32(vb, right), 31)), right);
        } else {
            va = vrshlq_s32(vqdmulhq_s32(va, m), sh);
            vb = vrshlq_s32(vqdmulhq_s32(vb, m), sh);
        }
        va = vaddq_n_s32(va, o->offset);
        vb = vaddq_n_s32(vb, o->offset);
    }
    const int32x4_t lo = vdupq_n_s32(o->act_min), hi = vdupq_n_s32(o->act_max);
    vstrbq_s32(out_a + c, vminq_s32(vmaxq_s32(va, lo), hi));
    vstrbq_s32(out_b + c, vminq_s32(vmaxq_s32(vb, lo), hi));
}

/* One output of channel c (the C_out < 4 path). */
static inline int8_t pw_requant1(const pw_out_t *o, int32_t c, int32_t acc)
{
    const int32_t x = (int32_t)((uint32_t)acc + (uint32_t)o->bias[c]);
    const int32_t v = (int32_t)((uint32_t)tm_mbqm(x, o->multiplier[c], o->shift[c], o->rounding) + (uint32_t)o->offset);
    return (int8_t)tm_clamp(v, o->act_min, o->act_max);
}

/* ---- the interleaved copy -------------------------------------------------- */

/* Pixels a and b (len >= 1 values each) into s in the layout described at the top. */
static inline void pw_copy_pair(int8_t *s, const int8_t *a, const int8_t *b, int32_t len)
{
    for (int32_t n = len >> 4; n > 0; --n) {
        const int8x16_t va = vldrbq_s8(a), vb = vldrbq_s8(b);
        vstrbq_s8(s, va);
        vstrbq_s8(s + 16, vb);
        s += 32;
        a += 16;
        b += 16;
    }
    const int32_t t = len & 15;
    if (t) {
        const mve_pred16_t tail = vctp8q((uint32_t)t);
        vstrbq_p_s8(s, vldrbq_z_s8(a, tail), tail);
        vstrbq_p_s8(s + t, vldrbq_z_s8(b, tail), tail);
    }
}

/* Every pixel pair with C_out >= 4, for one requantization mode (a constant). An odd last
 * pixel is copied into both halves, so B's outputs equal A's and go to the same place. */
__attribute__((always_inline)) static inline void pw_run(const tinyml_conv2d_params_t *p, const pw_out_t *o,
                                                         pw_rq_mode_t mode, const int8_t *input, const int8_t *filter,
                                                         int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    const int32_t last = out_c - 4;
    int32_t acc[8] __attribute__((aligned(16)));
    for (int32_t i = 0; i < pixels; i += 2) {
        const int two = i + 1 < pixels;
        const int8_t *in_a = input + (size_t)i * in_c;
        int8_t *out_a = output + (size_t)i * out_c, *out_b = two ? out_a + out_c : out_a;
        pw_copy_pair(scratch, in_a, two ? in_a + in_c : in_a, in_c);
        const int8_t *w = filter;
        for (int32_t c = 0; c < last; c += 4, w += 4 * (size_t)in_c) {
            pw_tile_2x4(scratch, w, in_c, in_c, acc);
            pw_requant_2x4(o, mode, c, acc, out_a, out_b);
        }
        /* the last four channels (recomputes up to 3 with C_out % 4 != 0) */
        pw_tile_2x4(scratch, filter + (size_t)last * in_c, in_c, in_c, acc);
        pw_requant_2x4(o, mode, last, acc, out_a, out_b);
    }
}

void tinyml_conv2d_1x1_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                               const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const pw_out_t o = pw_out(p, folded_bias);
    if (out_c >= 4) {
        if (o.mode == PW_RQ_DOUBLE) {
            pw_run(p, &o, PW_RQ_DOUBLE, input, filter, output, scratch);
        } else if (o.mode == PW_RQ_SINGLE) {
            pw_run(p, &o, PW_RQ_SINGLE, input, filter, output, scratch);
        } else {
            pw_run(p, &o, PW_RQ_SCALAR, input, filter, output, scratch);
        }
        return;
    }
    /* C_out < 4: each channel as a tile of four equal rows */
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    int32_t acc[8] __attribute__((aligned(16)));
    for (int32_t i = 0; i < pixels; i += 2) {
        const int two = i + 1 < pixels;
        const int8_t *in_a = input + (size_t)i * in_c;
        int8_t *out_a = output + (size_t)i * out_c;
        pw_copy_pair(scratch, in_a, two ? in_a + in_c : in_a, in_c);
        for (int32_t c = 0; c < out_c; ++c) {
            pw_tile_2x4(scratch, filter + (size_t)c * in_c, 0, in_c, acc);
            out_a[c] = pw_requant1(&o, c, acc[0]);
            if (two) {
                out_a[out_c + c] = pw_requant1(&o, c, acc[4]);
            }
        }
    }
}

#endif /* __ARM_FEATURE_MVE & 1 */
