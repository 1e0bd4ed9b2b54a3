/* FULLY_CONNECTED, int8, per-tensor or per-channel: reference kernel. */
#include "tinyml/kernels.h"

void tinyml_fully_connected_s8(const tinyml_fully_connected_params_t *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->input_depth;
        for (int32_t u = 0; u < p->units; ++u) {
            const int8_t *w = weights + u * p->input_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->input_depth; ++d) {
                acc += ((int32_t)x[d] + p->input_offset) * ((int32_t)w[d] + p->filter_offset);
            }
            if (bias) {
                acc += bias[u];
            }
            const int32_t q = p->per_channel ? u : 0;
            acc = tm_mbqm(acc, p->quant.multiplier[q], p->quant.shift[q], TM_ROUNDING(p->rounding));
            acc += p->output_offset;
            output[b * p->units + u] = (int8_t)tm_clamp(acc, p->activation.min, p->activation.max);
        }
    }
}
