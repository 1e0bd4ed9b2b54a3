/* TRANSPOSE_CONV, int8, per-channel requantization: TFLite's reference scheme (scatter every
 * input pixel's products into int32 sums, then bias and one requantization per output). */
#include <string.h>

#include "tinyml/kernels.h"

size_t tinyml_transpose_conv_s8_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)p->output.n * (size_t)p->output.h * (size_t)p->output.w * (size_t)p->output.c *
           sizeof(int32_t);
}

void tinyml_transpose_conv_s8(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output, void *scratch)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    int32_t *acc = (int32_t *)scratch;
    const size_t total = (size_t)p->output.n * (size_t)out_h * (size_t)out_w * (size_t)out_c;
    memset(acc, 0, total * sizeof(int32_t));
    for (int32_t b = 0; b < p->input.n; ++b) {
        for (int32_t y = 0; y < in_h; ++y) {
            for (int32_t x = 0; x < in_w; ++x) {
                const int8_t *px = input + (((size_t)b * in_h + y) * in_w + x) * in_c;
                const int32_t oy0 = y * p->stride.h - p->pad.h, ox0 = x * p->stride.w - p->pad.w;
                for (int32_t ky = 0; ky < k_h; ++ky) {
                    const int32_t oy = oy0 + ky;
                    if (oy < 0 || oy >= out_h) {
                        continue;
                    }
                    for (int32_t kx = 0; kx < k_w; ++kx) {
                        const int32_t ox = ox0 + kx;
                        if (ox < 0 || ox >= out_w) {
                            continue;
                        }
                        int32_t *o = acc + (((size_t)b * out_h + oy) * out_w + ox) * out_c;
                        for (int32_t oc = 0; oc < out_c; ++oc) {
                            const int8_t *f = filter + (((size_t)oc * k_h + ky) * k_w + kx) * in_c;
                            int32_t sum = 0;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                sum += (px[ic] + p->input_offset) * f[ic];
                            }
                            o[oc] += sum;
                        }
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < total; ++i) {
        const int32_t oc = (int32_t)(i % (size_t)out_c);
        const int32_t a = bias ? tm_wadd(acc[i], bias[oc]) : acc[i];
        const int32_t v = tm_wadd(tm_mbqm(a, p->quant.multiplier[oc], p->quant.shift[oc], TM_ROUNDING(p->rounding)),
                                  p->output_offset);
        output[i] = (int8_t)tm_clamp(v, p->activation.min, p->activation.max);
    }
}
