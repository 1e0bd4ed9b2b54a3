/* SOFTMAX, int8 in, int8 out (scale 1/256, zero point -128), over the last axis.
 * Fixed-point exp and reciprocal, as TFLite's reference kernel. */
/* Compiled for size (with the fixed-point helpers it inlines): it runs once per inference over
 * a few classes, and -Os takes the kernel from 1,316 to 404 B for 400 instructions more on
 * KWS's 12 classes (bench/speed.py). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os")
#endif
#include "tinyml/kernels.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

void tinyml_softmax_s8(const tinyml_softmax_params_t *p, const int8_t *input, int8_t *output)
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
                const int32_t scaled = tm_mbqm_gt_one(diff, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
                const int32_t e = tm_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS);
                sum_of_exps = tm_wadd(sum_of_exps, tm_rdbpot(e, ACCUMULATION_INTEGER_BITS));
            }
        }
        int num_bits_over_unit;
        const int32_t shifted_scale = tm_get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
        const int exponent = num_bits_over_unit + 31 - 8;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = tm_mbqm_gt_one(diff, p->input_multiplier, p->input_left_shift, TM_ROUNDING(p->rounding));
                const int32_t e = tm_exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS);
                const int32_t unsat = tm_rdbpot(tm_srdhm(shifted_scale, e), exponent);
                y[c] = (int8_t)tm_clamp(unsat + INT8_MIN, INT8_MIN, INT8_MAX);
            } else {
                y[c] = INT8_MIN;
            }
        }
    }
}
