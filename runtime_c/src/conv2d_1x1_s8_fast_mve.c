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
 * group of four output channels a 2 pixels x 4 channels tile (tm_mve_tile_2x4,
 * in assembly, in mve_matmul.h) accumulates over C_in: a step loads 16 input
 * values of each pixel and 16 filter values of each channel (VLDRB.8, 6 loads)
 * and adds 8 dot products of 16 int8 pairs into 8 scalar accumulators (VMLADAVA.S8):
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
 * a pixel are requantized at once, exactly as tm_mbqm (tm_mve_requant_2x4;
 * mve_matmul.h has the vector sequences and their proofs):
 *   DOUBLE: VSHL by max(shift, 0), VQRDMULH, the ties-away fix-up (VAND,
 *           VSHR #31, VQADD), VRSHL by min(shift, 0);
 *   SINGLE with every shift <= -1 (checked once per call): VRSHL(VQDMULH(x, m), shift);
 *   SINGLE otherwise: tm_mbqm per output.
 * Then the output offset (wrapping add, as the reference's int32 add), the
 * activation clamp (VMAX, VMIN) and a narrowing store of four bytes (VSTRB.32).
 *
 * Overlap. As for tinyml_conv2d_1x1_s8, the output may overlap the input if
 *     output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels)
 * bytes: a pixel pair is copied into scratch before any of its outputs is
 * written, and the rule keeps the outputs of pixels 0 .. i+1 below the start
 * of input pixel i+2.
 *
 * Scratch: tinyml_conv2d_1x1_s8_fast_scratch_size() = 4 * C_in bytes, the
 * size of the other builds (the plan is the same for every target); this build
 * uses the first 2 * C_in, any alignment. Kernels never allocate.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

#include <arm_mve.h>
#include <stdint.h>

#include "tinyml/fixedpoint.h"
#include "tinyml/kernels.h"
#include "tinyml/mve_matmul.h"

size_t tinyml_conv2d_1x1_s8_fast_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)4 * (size_t)p->input.c;
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
__attribute__((always_inline)) static inline void pw_run(const tinyml_conv2d_params_t *p, const tm_mve_out_t *o,
                                                         tm_mve_rq_mode_t mode, const int8_t *input,
                                                         const int8_t *filter, int8_t *output, int8_t *scratch)
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
            tm_mve_tile_2x4(scratch, w, in_c, in_c, acc);
            tm_mve_requant_2x4(o, mode, c, acc, out_a, out_b);
        }
        /* the last four channels (recomputes up to 3 with C_out % 4 != 0) */
        tm_mve_tile_2x4(scratch, filter + (size_t)last * in_c, in_c, in_c, acc);
        tm_mve_requant_2x4(o, mode, last, acc, out_a, out_b);
    }
}

void tinyml_conv2d_1x1_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                               const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const tm_mve_out_t o = tm_mve_out(folded_bias, p->quant, 1, out_c, p->output_offset, p->activation, TM_ROUNDING(p->rounding));
    if (out_c >= 4) {
        if (o.mode == TM_MVE_RQ_DOUBLE) {
            pw_run(p, &o, TM_MVE_RQ_DOUBLE, input, filter, output, scratch);
        } else if (o.mode == TM_MVE_RQ_SINGLE) {
            pw_run(p, &o, TM_MVE_RQ_SINGLE, input, filter, output, scratch);
        } else {
            pw_run(p, &o, TM_MVE_RQ_SCALAR, input, filter, output, scratch);
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
            tm_mve_tile_2x4(scratch, filter + (size_t)c * in_c, 0, in_c, acc);
            out_a[c] = tm_mve_requant1(&o, c, acc[0]);
            if (two) {
                out_a[out_c + c] = tm_mve_requant1(&o, c, acc[4]);
            }
        }
    }
}

/* Output channel c of the plain-C int16-weight builds below: the dot product of the int8 values
 * x[0 .. len) with row c of the widened filter (pairs of rows of len values, each group of four
 * as w0 w2 w1 w3, kernels.h) from `bias`, requantized (tm_mbqm), offset and clamped. */
static int8_t w16_channel_out(const tinyml_conv2d_params_t *p, const int16_t *filter, int32_t len, const int8_t *x,
                              int32_t c, int32_t bias)
{
    static const uint8_t pos[4] = {0, 2, 1, 3};
    const int16_t *row = filter + (size_t)(c >> 1) * (size_t)(2 * len) + (size_t)(c & 1) * 4u;
    int32_t acc = bias;
    for (int32_t k = 0; k < len; ++k) {
        acc += x[k] * row[(size_t)(k >> 2) * 8u + pos[k & 3]];
    }
    const int32_t v = tm_mbqm(acc, p->quant.multiplier[c], p->quant.shift[c], TM_ROUNDING(p->rounding)) +
                      p->output_offset;
    return (int8_t)(v < p->activation.min ? p->activation.min : v > p->activation.max ? p->activation.max : v);
}

/* tinyml_conv2d_1x1_s8_fast_w16 (int16 weights, kernels.h) on Helium. The compiler's `speed`
 * kernel set widens weights for the DSP cores (Cortex-M4/M7), where a step then needs no
 * SXTB16; with MVE the int8 kernel above is faster, so this build is plain C over the widened
 * weights, pixel by pixel through the scratch (the overlap rule), exact and not fast. */
size_t tinyml_conv2d_1x1_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p)
{
    return tinyml_conv2d_1x1_s8_fast_scratch_size(p);
}

void tinyml_conv2d_1x1_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                                   const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch)
{
    (void)rq;
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    for (int32_t i = 0; i < pixels; ++i) {
        const int8_t *in_a = input + (size_t)i * in_c;
        for (int32_t k = 0; k < in_c; ++k) {
            scratch[k] = in_a[k];
        }
        int8_t *out_a = output + (size_t)i * out_c;
        for (int32_t c = 0; c < out_c; ++c) {
            out_a[c] = w16_channel_out(p, filter, in_c, scratch, c, folded_bias[c]);
        }
    }
}

/* tinyml_conv2d_s8_fast_w16 on Helium: plain C over the widened weights, as above. */
size_t tinyml_conv2d_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)4 * (size_t)p->filter.h * (size_t)p->filter.w * (size_t)p->input.c;
}

void tinyml_conv2d_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                               const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c, len = p->filter.h * p->filter.w * in_c;
    (void)rq;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)p->input.h * (size_t)p->input.w * (size_t)in_c;
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                /* the patch, the input zero point outside the image */
                int8_t *dst = scratch;
                for (int32_t ky = 0; ky < p->filter.h; ++ky) {
                    const int32_t iy = oy * p->stride.h - p->pad.h + ky * p->dilation.h;
                    for (int32_t kx = 0; kx < p->filter.w; ++kx) {
                        const int32_t ix = ox * p->stride.w - p->pad.w + kx * p->dilation.w;
                        const int in = (uint32_t)iy < (uint32_t)p->input.h && (uint32_t)ix < (uint32_t)p->input.w;
                        for (int32_t ci = 0; ci < in_c; ++ci) {
                            *dst++ = in ? image[((size_t)iy * (size_t)p->input.w + (size_t)ix) * (size_t)in_c + ci]
                                        : (int8_t)(-p->input_offset);
                        }
                    }
                }
                int8_t *out = output + (((size_t)b * p->output.h + oy) * p->output.w + ox) * (size_t)out_c;
                for (int32_t c = 0; c < out_c; ++c) {
                    out[c] = w16_channel_out(p, filter, len, scratch, c, folded_bias[c]);
                }
            }
        }
    }
}

#endif /* __ARM_FEATURE_MVE & 1 */
