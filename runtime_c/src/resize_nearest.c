/* RESIZE_NEAREST_NEIGHBOR, NHWC, any element size; source indices precomputed
 * at compile time with TFLite's float32 arithmetic. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_resize_nearest(const tinyml_resize_nearest_params_t *p, const void *input, void *output)
{
    const size_t px = (size_t)p->input.c * (size_t)p->element_size;
    char *out = (char *)output;
    for (int32_t b = 0; b < p->output.n; ++b) {
        for (int32_t y = 0; y < p->output.h; ++y) {
            for (int32_t x = 0; x < p->output.w; ++x) {
                const size_t src = ((size_t)(b * p->input.h + p->y_index[y]) * p->input.w + p->x_index[x]) * px;
                memcpy(out, (const char *)input + src, px);
                out += px;
            }
        }
    }
}
