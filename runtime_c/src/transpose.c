/* TRANSPOSE, SLICE and STRIDED_SLICE of up to 6 dimensions for any element size: a strided copy. */
#include <string.h>

#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_transpose(const tinyml_transpose_params_t *p, const void *input, void *output)
{
    const int32_t es = p->element_size;
    const int32_t total = tm_nd_count(p->out_shape);
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t src = p->in_offset;
    for (int32_t i = 0; i < total; ++i) {
        memcpy((char *)output + (size_t)i * es, (const char *)input + (size_t)src * es, (size_t)es);
        tm_nd_next(idx, p->out_shape, p->in_strides, &src, NULL, NULL);
    }
}
