/*
 * tinyml/pointwise.h - where the fast pointwise CONV_2D kernels (conv2d_1x1_s8_fast.c,
 * conv2d_1x1_s8_fast_mve.c) read an output pixel's input. Internal to those files.
 *
 * A 1x1 kernel without padding reads, for output pixel i (all batches, row-major), the input
 * pixel (n, oy * stride.h, ox * stride.w): pixel i itself when the stride is 1.
 */
#ifndef TINYML_POINTWISE_H
#define TINYML_POINTWISE_H

#include <stddef.h>
#include <stdint.h>

#include "tinyml/kernels.h"

/* The input pixel (C_in bytes) of output pixel i. */
static inline const int8_t *tm_pointwise_input(const tinyml_conv2d_params_t *p, const int8_t *input, int32_t i)
{
    const int32_t in_c = p->input.c;
    if (p->stride.h == 1 && p->stride.w == 1) {
        return input + (size_t)i * (size_t)in_c;
    }
    const int32_t plane = p->output.h * p->output.w;
    const int32_t n = i / plane, r = i - n * plane;
    const int32_t oy = r / p->output.w, ox = r - oy * p->output.w;
    const size_t pixel = ((size_t)n * (size_t)p->input.h + (size_t)oy * (size_t)p->stride.h) * (size_t)p->input.w +
                         (size_t)ox * (size_t)p->stride.w;
    return input + pixel * (size_t)in_c;
}

#endif /* TINYML_POINTWISE_H */
