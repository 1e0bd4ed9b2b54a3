/* QUANTIZE float32 -> int8: zp + round_half_away(x / scale), in float32 arithmetic, saturated. */
#include <math.h>

#include "tinyml/kernels.h"

void tinyml_quantize_f32_s8(const tinyml_affine_params_t *p, const float *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        /* Out-of-range values and infinities saturate (only [-128, 127] survives the clamp anyway);
         * NaN gives -128, what TF-Lite Micro gives on the host it is checked against (its float to
         * int cast of NaN yields INT32_MIN there). Every float input is defined. */
        const float scaled = roundf(input[i] / p->scale);
        const float bounded = !(scaled >= -65536.0f) ? -65536.0f : (scaled > 65536.0f ? 65536.0f : scaled);
        const int32_t v = (int32_t)bounded + p->zero_point;
        output[i] = (int8_t)tm_clamp(v, INT8_MIN, INT8_MAX);
    }
}
