/* PRELU, int8, alpha broadcast against the input (TFLite's BroadcastPrelu4DSlow, N-d). */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_prelu_s8(const tinyml_prelu_params_t *p, const int8_t *input, const int8_t *alpha, int8_t *output)
{
    const tinyml_broadcast_t *g = &p->geometry;
    const int32_t total = tm_nd_count(g->out_shape);
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t o1 = 0, o2 = 0;
    for (int32_t i = 0; i < total; ++i) {
        const int32_t x = p->input_offset + input[o1];
        int32_t v;
        if (x >= 0) {
            v = tm_mbqm(x, p->identity_multiplier, p->identity_shift, TM_ROUNDING(p->rounding));
        } else {
            const int32_t a = p->alpha_offset + alpha[o2];
            v = tm_mbqm(x * a, p->alpha_multiplier, p->alpha_shift, TM_ROUNDING(p->rounding));
        }
        output[i] = (int8_t)tm_clamp(v + p->output_offset, INT8_MIN, INT8_MAX);
        tm_nd_next(idx, g->out_shape, g->in1_strides, &o1, g->in2_strides, &o2);
    }
}
