/* REDUCE_MAX over any set of axes, int8: the raw maximum (TFLite compares the raw values). */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_reduce_max_s8(const tinyml_reduce_max_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        output[i] = INT8_MIN;
    }
    int32_t idx[TINYML_MAX_DIMS] = {0};
    const int32_t total = tm_nd_count(p->in_shape);
    int32_t o = 0;
    for (int32_t i = 0; i < total; ++i) {
        if (input[i] > output[o]) {
            output[o] = input[i];
        }
        tm_nd_next(idx, p->in_shape, p->out_strides, &o, NULL, NULL);
    }
}
