/* LEAKY_RELU, int8 (TFLite's QuantizeLeakyRelu): the offset input times the identity or the
 * alpha multiplier, by its sign, plus the output zero point, saturated to int8. */
#include "tinyml/kernels.h"

void tinyml_leaky_relu_s8(const tinyml_leaky_relu_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i] - p->input_zero_point;
        const int32_t v = x >= 0 ? tm_mbqm(x, p->identity_multiplier, p->identity_shift, TM_ROUNDING(p->rounding))
                                 : tm_mbqm(x, p->alpha_multiplier, p->alpha_shift, TM_ROUNDING(p->rounding));
        output[i] = (int8_t)tm_clamp(v + p->output_zero_point, INT8_MIN, INT8_MAX);
    }
}
