/* DEPTHWISE_CONV_2D, int8, per-channel, any depth multiplier: reference kernel. */
#include "tinyml/kernels.h"

void tinyml_depthwise_conv2d_s8(const tinyml_depthwise_conv2d_params_t *p, const int8_t *input,
                                const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t m = p->depth_multiplier;
    for (int32_t b = 0; b < p->output.n; ++b) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t in_y0 = oy * p->stride.h - p->pad.h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t in_x0 = ox * p->stride.w - p->pad.w;
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t dm = 0; dm < m; ++dm) {
                        const int32_t oc = ic * m + dm;
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
                                const int32_t v = input[((b * in_h + iy) * in_w + ix) * in_c + ic];
                                const int32_t w = filter[(ky * k_w + kx) * out_c + oc];
                                acc += (v + p->input_offset) * w;
                            }
                        }
                        if (bias) {
                            acc += bias[oc];
                        }
                        acc = tm_mbqm(acc, p->quant.multiplier[oc], p->quant.shift[oc], TM_ROUNDING(p->rounding));
                        acc += p->output_offset;
                        output[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                            (int8_t)tm_clamp(acc, p->activation.min, p->activation.max);
                    }
                }
            }
        }
    }
}
