/* TANH, int8 in, int8 out (scale 1/128, zero point 0): Q4.27 fixed point, as TFLite's. */
#include "tinyml/kernels.h"

#define INPUT_INTEGER_BITS 4

void tinyml_tanh_s8(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t in_q4 = tm_mbqm(x, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
            const int32_t out_q0 = tm_tanh(in_q4, INPUT_INTEGER_BITS);
            const int32_t out = tm_rdbpot(out_q0, 31 - 7);
            output[i] = (int8_t)tm_clamp(out, INT8_MIN, INT8_MAX);
        }
    }
}
