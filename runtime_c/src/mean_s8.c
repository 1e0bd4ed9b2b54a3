/* MEAN over any set of axes, int8: int32 sums in scratch, then one
 * requantization that folds in 1/num_elements_in_axis (TFLite's integer scheme). */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

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
    const int32_t total = tm_nd_count(p->in_shape);
    int32_t o = 0;
    for (int32_t i = 0; i < total; ++i) {
        sums[o] += input[i];
        tm_nd_next(idx, p->in_shape, p->out_strides, &o, NULL, NULL);
    }
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        const int32_t shifted = sums[i] - p->input_zero_point * p->num_elements_in_axis;
        const int32_t v = tm_mbqm(shifted, p->multiplier, p->shift, TM_ROUNDING(p->rounding)) + p->output_zero_point;
        output[i] = (int8_t)tm_clamp(v, INT8_MIN, INT8_MAX);
    }
}
