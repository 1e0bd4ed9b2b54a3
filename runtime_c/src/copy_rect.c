/* Copy a rectangle of rows between two buffers with different row strides
 * (patch-based inference: gather a patch out of a full feature map, or
 * stitch a computed patch into one). Type-agnostic: sizes are in bytes. */
#include <string.h>

#include "tinyml/kernels.h"

void tinyml_copy_rect(const tinyml_copy_rect_params_t *p, const void *src, void *dst)
{
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    for (int32_t r = 0; r < p->rows; ++r) {
        memcpy(d + (size_t)r * (size_t)p->dst_stride, s + (size_t)r * (size_t)p->src_stride, (size_t)p->row_bytes);
    }
}
