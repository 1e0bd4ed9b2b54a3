/* PAD / PADV2 for any element size: fill with the pad value, then copy rows. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_pad(const tinyml_pad_params_t *p, const void *input, void *output)
{
    const int32_t es = p->element_size;
    int32_t out_total = 1, in_rows = 1;
    for (int d = 0; d < TINYML_MAX_DIMS; ++d) {
        out_total *= p->out_shape[d];
        if (d < TINYML_MAX_DIMS - 1) {
            in_rows *= p->in_shape[d];
        }
    }
    if (es == 1) {
        memset(output, (int8_t)p->pad_value, (size_t)out_total);
    } else {
        memset(output, 0, (size_t)out_total * (size_t)es);
    }
    int32_t out_strides[TINYML_MAX_DIMS];
    out_strides[TINYML_MAX_DIMS - 1] = 1;
    for (int d = TINYML_MAX_DIMS - 2; d >= 0; --d) {
        out_strides[d] = out_strides[d + 1] * p->out_shape[d + 1];
    }
    const int32_t row = p->in_shape[TINYML_MAX_DIMS - 1];
    int32_t idx[TINYML_MAX_DIMS] = {0};
    for (int32_t r = 0; r < in_rows; ++r) {
        int32_t o = p->pad_before[TINYML_MAX_DIMS - 1];
        for (int d = 0; d < TINYML_MAX_DIMS - 1; ++d) {
            o += (idx[d] + p->pad_before[d]) * out_strides[d];
        }
        memcpy((char *)output + (size_t)o * es, (const char *)input + (size_t)r * row * es, (size_t)row * es);
        for (int d = TINYML_MAX_DIMS - 2; d >= 0; --d) {
            if (++idx[d] < p->in_shape[d]) {
                break;
            }
            idx[d] = 0;
        }
    }
}
