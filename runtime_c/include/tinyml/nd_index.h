/*
 * tinyml/nd_index.h - walking a TINYML_MAX_DIMS-d shape in row-major order.
 *
 * Kernels that broadcast, reduce or permute keep an index vector `idx` over
 * `shape` and one or two linear offsets into other tensors whose per-axis
 * element strides are given (0 on broadcast / reduced axes).
 */
#ifndef TINYML_ND_INDEX_H
#define TINYML_ND_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define TINYML_MAX_DIMS 6 /* the rank limit of every N-d kernel; tinyengine.core.layers.MAX_DIMS is the same number (tested) */

/* Advance idx by one element; add the strides of every axis that moves to *o1 (and *o2 if
 * s2 is not NULL), and remove them again for every axis that wraps around. */
static inline void tm_nd_next(int32_t *idx, const int32_t *shape, const int32_t *s1, int32_t *o1,
                              const int32_t *s2, int32_t *o2)
{
    for (int d = TINYML_MAX_DIMS - 1; d >= 0; --d) {
        idx[d]++;
        *o1 += s1[d];
        if (s2) {
            *o2 += s2[d];
        }
        if (idx[d] < shape[d]) {
            return;
        }
        *o1 -= s1[d] * idx[d];
        if (s2) {
            *o2 -= s2[d] * idx[d];
        }
        idx[d] = 0;
    }
}

static inline int32_t tm_nd_count(const int32_t *shape)
{
    int32_t total = 1;
    for (int d = 0; d < TINYML_MAX_DIMS; ++d) {
        total *= shape[d];
    }
    return total;
}

#endif /* TINYML_ND_INDEX_H */
