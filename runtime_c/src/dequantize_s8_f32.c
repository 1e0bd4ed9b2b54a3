/* DEQUANTIZE int8 -> float32: (float)((double)scale * (x - zp)). */
#include "tinyml/kernels.h"

void tinyml_dequantize_s8_f32(const tinyml_affine_params_t *p, const int8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (float)((double)p->scale * (double)((int32_t)input[i] - p->zero_point));
    }
}
