/* SVDF, int8 input and output, int16 time weights and state: the arithmetic of TF-Lite
 * Micro's integer SVDF (kernels.h has the steps). */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_svdf_s8(const tinyml_svdf_params_t *p, const int8_t *input, int8_t *output, int16_t *state)
{
    const tinyml_rounding_t rnd = TM_ROUNDING(p->rounding);
    const int32_t m = p->memory;
    const int32_t total = p->batches * p->filters * m;
    /* every filter's memory moves one place towards the oldest, as one flat buffer: the value
     * that crosses into the next filter's newest place is overwritten below */
    if (total > 1) memmove(state, state + 1, (size_t)(total - 1) * sizeof(int16_t));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->input_size;
        int16_t *s = state + b * p->filters * m;
        for (int32_t f = 0; f < p->filters; ++f) {
            const int8_t *w = p->feature_weights + f * p->input_size;
            int32_t acc = p->feature_bias[f];
            for (int32_t k = 0; k < p->input_size; ++k) acc += (int32_t)w[k] * x[k];
            acc = tm_mbqm(acc, p->feature_multiplier, p->feature_shift, rnd);
            s[f * m + m - 1] = (int16_t)tm_clamp(acc, INT16_MIN, INT16_MAX);
        }
        for (int32_t u = 0; u < p->units; ++u) {
            int32_t acc = p->bias[u];
            for (int32_t r = 0; r < p->rank; ++r) {
                const int32_t f = u * p->rank + r;
                const int16_t *w = p->time_weights + f * m;
                for (int32_t j = 0; j < m; ++j) acc += (int32_t)w[j] * s[f * m + j];
            }
            acc = tm_mbqm(acc, p->output_multiplier, p->output_shift, rnd) + p->output_zero_point;
            output[b * p->units + u] = (int8_t)tm_clamp(acc, INT8_MIN, INT8_MAX);
        }
    }
}
