/*
 * CONV_2D with a 1x1 kernel, stride 1, no padding (pointwise), int8,
 * per-channel requantization, computed pixel by pixel: each input pixel's
 * C_in bytes are copied to `scratch` before that pixel's C_out outputs are
 * written. The output may therefore overlap the input, provided output pixel
 * i never reaches input pixel i + 1 or beyond:
 *     output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels)
 * which the memory planner uses to let the two share memory. Bit-identical to
 * tinyml_conv2d_s8 on the same shapes.
 */
#include "tinyml/kernels.h"

size_t tinyml_conv2d_1x1_s8_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)p->input.c;
}

void tinyml_conv2d_1x1_s8(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    for (int32_t i = 0; i < pixels; ++i) {
        const int8_t *in_px = input + (size_t)i * in_c;
        int8_t *out_px = output + (size_t)i * out_c;
        for (int32_t ic = 0; ic < in_c; ++ic) {
            scratch[ic] = in_px[ic];
        }
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *f = filter + (size_t)oc * in_c;
            int32_t acc = 0;
            for (int32_t ic = 0; ic < in_c; ++ic) {
                acc += ((int32_t)scratch[ic] + p->input_offset) * (int32_t)f[ic];
            }
            if (bias) {
                acc += bias[oc];
            }
            acc = tm_mbqm(acc, p->quant.multiplier[oc], p->quant.shift[oc], TM_ROUNDING(p->rounding));
            acc += p->output_offset;
            out_px[oc] = (int8_t)tm_clamp(acc, p->activation.min, p->activation.max);
        }
    }
}
