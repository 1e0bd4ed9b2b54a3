/* GATHER along one axis, any element size: for each outer index, the indexed slices in turn. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_gather(const tinyml_gather_params_t *p, const void *input, void *output)
{
    const size_t inner = (size_t)p->inner_bytes;
    const char *in = (const char *)input;
    char *out = (char *)output;
    for (int32_t o = 0; o < p->outer_size; ++o) {
        const char *block = in + (size_t)o * (size_t)p->axis_size * inner;
        for (int32_t j = 0; j < p->num_indices; ++j) {
            memcpy(out, block + (size_t)p->indices[j] * inner, inner);
            out += inner;
        }
    }
}
