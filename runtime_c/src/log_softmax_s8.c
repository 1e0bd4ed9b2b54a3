/* LOG_SOFTMAX, int8 in, int8 out (scale 16/256, zero point 127), last axis. */
#include "tinyml/kernels.h"

#define INPUT_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12
#define OUTPUT_INTEGER_BITS 4

void tinyml_log_softmax_s8(const tinyml_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->outer_size; ++i) {
        const int8_t *x = input + i * p->depth;
        int8_t *y = output + i * p->depth;
        int32_t max_in_row = INT8_MIN;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = x[c] > max_in_row ? x[c] : max_in_row;
        }
        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t in_q5 = tm_mbqm(diff, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
                sum_of_exps = tm_wadd(sum_of_exps,
                                      tm_rdbpot(tm_exp_on_negative_values(in_q5, INPUT_INTEGER_BITS),
                                                ACCUMULATION_INTEGER_BITS));
            }
        }
        const int32_t log_sum_q5 = tm_log_x_ge_1(sum_of_exps, ACCUMULATION_INTEGER_BITS, INPUT_INTEGER_BITS);
        const int32_t shifted_log_sum = tm_wadd(log_sum_q5, INT32_MIN);
        const int32_t rescaled = tm_mbqm(shifted_log_sum, p->reverse_scaling_divisor, p->reverse_scaling_shift,
                                         TM_ROUNDING(p->rounding));
        const int32_t adjusted_diff_min = (p->diff_min - 1) > rescaled ? (p->diff_min - 1) : rescaled;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff > adjusted_diff_min) {
                const int32_t in_q5 = tm_mbqm(diff, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
                const int32_t out = tm_rdbpot(tm_wsub(in_q5, log_sum_q5),
                                              31 - INPUT_INTEGER_BITS - OUTPUT_INTEGER_BITS) + INT8_MAX;
                y[c] = (int8_t)tm_clamp(out, INT8_MIN, INT8_MAX);
            } else {
                y[c] = INT8_MIN;
            }
        }
    }
}
