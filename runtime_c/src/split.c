/* SPLIT / SPLIT_V / UNPACK along any axis: for each outer index, each output's block in turn. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_split(const tinyml_split_params_t *p, const void *input, void *const *outputs)
{
    const char *in = (const char *)input;
    for (int32_t o = 0; o < p->outer_size; ++o) {
        for (int32_t i = 0; i < p->num_outputs; ++i) {
            const size_t n = (size_t)p->copy_bytes[i];
            memcpy((char *)outputs[i] + (size_t)o * n, in, n);
            in += n;
        }
    }
}
