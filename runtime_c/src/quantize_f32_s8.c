/* QUANTIZE float32 -> int8: zp + round_half_away(x / scale), in float32 arithmetic. */
#include <math.h>

#include "tinyml/kernels.h"

void tinyml_quantize_f32_s8(const tinyml_affine_params_t *p, const float *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const float scaled = roundf(input[i] / p->scale);
        int32_t v;
        if (scaled >= 2147483520.0f) { /* the largest float below 2^31 */
            v = INT32_MAX;
        } else if (scaled <= -2147483648.0f) {
            v = INT32_MIN;
        } else {
            v = (int32_t)scaled;
        }
        v = (int32_t)((int64_t)v + p->zero_point > INT32_MAX ? INT32_MAX : v + (int64_t)p->zero_point);
        output[i] = (int8_t)tm_clamp(v, INT8_MIN, INT8_MAX);
    }
}
