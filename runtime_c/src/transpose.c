/* TRANSPOSE of up to 6 dimensions for any element size. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_transpose(const tinyml_transpose_params_t *p, const void *input, void *output)
{
    const int32_t es = p->element_size;
    int32_t total = 1;
    for (int d = 0; d < TINYML_MAX_DIMS; ++d) {
        total *= p->out_shape[d];
    }
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t src = 0;
    for (int32_t i = 0; i < total; ++i) {
        memcpy((char *)output + (size_t)i * es, (const char *)input + (size_t)src * es, (size_t)es);
        for (int d = TINYML_MAX_DIMS - 1; d >= 0; --d) {
            idx[d]++;
            src += p->in_strides[d];
            if (idx[d] < p->out_shape[d]) {
                break;
            }
            src -= p->in_strides[d] * idx[d];
            idx[d] = 0;
        }
    }
}
