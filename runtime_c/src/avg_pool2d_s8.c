/* AVERAGE_POOL_2D, int8: the window is clipped at the borders and the mean is
 * rounded half away from zero over the valid elements only (TFLite semantics). */
#include "tinyml/kernels.h"

void tinyml_avg_pool2d_s8(const tinyml_pool2d_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, depth = p->input.c;
    for (int32_t b = 0; b < p->output.n; ++b) {
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            const int32_t y0 = oy * p->stride.h - p->pad.h;
            const int32_t fy_start = y0 < 0 ? -y0 : 0;
            const int32_t fy_end = p->filter.h < in_h - y0 ? p->filter.h : in_h - y0;
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                const int32_t x0 = ox * p->stride.w - p->pad.w;
                const int32_t fx_start = x0 < 0 ? -x0 : 0;
                const int32_t fx_end = p->filter.w < in_w - x0 ? p->filter.w : in_w - x0;
                for (int32_t c = 0; c < depth; ++c) {
                    int32_t acc = 0;
                    int32_t count = 0;
                    for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                        for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                            acc += input[((b * in_h + y0 + fy) * in_w + x0 + fx) * depth + c];
                            ++count;
                        }
                    }
                    if (count > 0) {
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    output[((b * p->output.h + oy) * p->output.w + ox) * depth + c] =
                        (int8_t)tm_clamp(acc, p->activation.min, p->activation.max);
                }
            }
        }
    }
}
