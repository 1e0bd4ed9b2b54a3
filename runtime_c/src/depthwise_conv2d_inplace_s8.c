/*
 * DEPTHWISE_CONV_2D, int8, depth multiplier 1, computed in place: the output
 * overwrites the input buffer channel by channel. Channel c of the input is
 * first copied to `scratch` (in_h * in_w bytes), then output channel c is
 * computed from that copy. Output element (y, x, c) only ever lands on an
 * element of channel c (same channel count, output no larger than the input),
 * and channel c has been copied before it is overwritten, so the result is
 * the same as the out-of-place kernel for any kernel size, stride, dilation
 * and padding.
 */
#include "tinyml/kernels.h"

size_t tinyml_depthwise_conv2d_inplace_s8_scratch_size(const tinyml_depthwise_conv2d_params_t *p)
{
    return (size_t)p->input.h * (size_t)p->input.w;
}

void tinyml_depthwise_conv2d_inplace_s8(const tinyml_depthwise_conv2d_params_t *p, int8_t *buffer,
                                        const int8_t *filter, const int32_t *bias, int8_t *scratch)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t out_h = p->output.h, out_w = p->output.w;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *in_batch = buffer + (size_t)b * in_h * in_w * ch;
        int8_t *out_batch = buffer + (size_t)b * out_h * out_w * ch;
        for (int32_t c = 0; c < ch; ++c) {
            for (int32_t i = 0; i < in_h * in_w; ++i) {
                scratch[i] = in_batch[(size_t)i * ch + c];
            }
            for (int32_t oy = 0; oy < out_h; ++oy) {
                const int32_t in_y0 = oy * p->stride.h - p->pad.h;
                for (int32_t ox = 0; ox < out_w; ++ox) {
                    const int32_t in_x0 = ox * p->stride.w - p->pad.w;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = in_y0 + ky * p->dilation.h;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = in_x0 + kx * p->dilation.w;
                            if (ix < 0 || ix >= in_w) {
                                continue;
                            }
                            acc += (scratch[iy * in_w + ix] + p->input_offset) * filter[(ky * k_w + kx) * ch + c];
                        }
                    }
                    if (bias) {
                        acc += bias[c];
                    }
                    acc = tm_mbqm(acc, p->quant.multiplier[c], p->quant.shift[c], TM_ROUNDING(p->rounding));
                    acc += p->output_offset;
                    out_batch[((size_t)oy * out_w + ox) * ch + c] = (int8_t)tm_clamp(acc, p->activation.min, p->activation.max);
                }
            }
        }
    }
}
