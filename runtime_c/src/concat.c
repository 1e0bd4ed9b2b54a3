/* CONCATENATION along any axis: for each outer index, copy each input's block. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_concat(const tinyml_concat_params_t *p, const void *const *inputs, void *output)
{
    char *out = (char *)output;
    for (int32_t o = 0; o < p->outer_size; ++o) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const size_t n = (size_t)p->copy_bytes[i];
            memcpy(out, (const char *)inputs[i] + (size_t)o * n, n);
            out += n;
        }
    }
}
