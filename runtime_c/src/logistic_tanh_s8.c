/* LOGISTIC (output scale 1/256, zero point -128) and TANH (1/128, 0), int8: the input scaled to
 * Q4.27 fixed point, gemmlowp's logistic / tanh, the Q0.31 result rounded to the output's 8 bits
 * (TFLite's reference_integer_ops::Logistic and Tanh). */
#include "tinyml/kernels.h"

#define INPUT_INTEGER_BITS 4

/* `tanh` is a constant at both call sites: each function keeps its own straight loop. */
static inline void logistic_or_tanh(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output, int tanh)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t in_q4 = tm_mbqm(x, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
            const int32_t out = tanh ? tm_rdbpot(tm_tanh(in_q4, INPUT_INTEGER_BITS), 31 - 7)
                                     : tm_rdbpot(tm_logistic(in_q4, INPUT_INTEGER_BITS), 31 - 8) + INT8_MIN;
            output[i] = (int8_t)tm_clamp(out, INT8_MIN, INT8_MAX);
        }
    }
}

void tinyml_logistic_s8(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output)
{
    logistic_or_tanh(p, input, output, 0);
}

void tinyml_tanh_s8(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output)
{
    logistic_or_tanh(p, input, output, 1);
}
