/* MUL, int8, with N-d broadcasting. */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_mul_s8(const tinyml_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const tinyml_broadcast_t *g = &p->geometry;
    int32_t idx[TINYML_MAX_DIMS] = {0};
    const int32_t total = tm_nd_count(g->out_shape);
    int32_t o1 = 0, o2 = 0;
    for (int32_t i = 0; i < total; ++i) {
        const int32_t a = (int32_t)input1[o1] + p->input1_offset;
        const int32_t b = (int32_t)input2[o2] + p->input2_offset;
        const int32_t v = p->output_offset + tm_mbqm(a * b, p->output_multiplier, p->output_shift, TM_ROUNDING(p->rounding));
        output[i] = (int8_t)tm_clamp(v, p->activation.min, p->activation.max);
        tm_nd_next(idx, g->out_shape, g->in1_strides, &o1, g->in2_strides, &o2);
    }
}
