/* int8 -> int8 requantization with clamping: QUANTIZE (int8 in), RELU, RELU6,
 * RELU_N1_TO_1. out = clamp(zp_out + mbqm(x - zp_in, multiplier, shift)). */
#include "tinyml/kernels.h"

void tinyml_requantize_s8(const tinyml_requantize_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = (int32_t)input[i] - p->input_zero_point;
        const int32_t out = p->output_zero_point + tm_mbqm(v, p->multiplier, p->shift, TM_ROUNDING(p->rounding));
        output[i] = (int8_t)tm_clamp(out, p->activation.min, p->activation.max);
    }
}
