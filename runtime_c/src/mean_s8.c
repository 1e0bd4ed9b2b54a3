/* MEAN over any set of axes, int8: int32 sums in scratch, then one
 * requantization that folds in 1/num_elements_in_axis (TFLite's integer scheme). */
#include "tinyml/kernels.h"

size_t tinyml_mean_s8_scratch_size(const tinyml_mean_params_t *p)
{
    return (size_t)p->num_outputs * sizeof(int32_t);
}

void tinyml_mean_s8(const tinyml_mean_params_t *p, const int8_t *input, int8_t *output, void *scratch)
{
    int32_t *sums = (int32_t *)scratch;
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        sums[i] = 0;
    }
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t total = 1;
    for (int d = 0; d < TINYML_MAX_DIMS; ++d) {
        total *= p->in_shape[d];
    }
    int32_t o = 0;
    for (int32_t i = 0; i < total; ++i) {
        sums[o] += input[i];
        for (int d = TINYML_MAX_DIMS - 1; d >= 0; --d) {
            idx[d]++;
            o += p->out_strides[d];
            if (idx[d] < p->in_shape[d]) {
                break;
            }
            o -= p->out_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        const int32_t shifted = sums[i] - p->input_zero_point * p->num_elements_in_axis;
        const int32_t v = tm_mbqm(shifted, p->multiplier, p->shift, p->rounding) + p->output_zero_point;
        output[i] = (int8_t)tm_clamp(v, INT8_MIN, INT8_MAX);
    }
}
