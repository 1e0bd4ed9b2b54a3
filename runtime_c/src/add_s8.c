/* ADD, SUB and SQUARED_DIFFERENCE, int8, with N-d broadcasting (TFLite's headroom schemes: 20 bits
 * for ADD / SUB, 7 bits for SQUARED_DIFFERENCE, whose scaled difference is squared). */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

static int32_t add_one(const tinyml_add_params_t *p, int32_t a, int32_t b)
{
    const int32_t shifted1 = (int32_t)((uint32_t)(a + p->input1_offset) << p->left_shift);
    const int32_t shifted2 = (int32_t)((uint32_t)(b + p->input2_offset) << p->left_shift);
    const int32_t scaled1 = tm_mbqm_lt_one(shifted1, p->input1_multiplier, p->input1_shift, TM_ROUNDING(p->rounding));
    const int32_t scaled2 = tm_mbqm_lt_one(shifted2, p->input2_multiplier, p->input2_shift, TM_ROUNDING(p->rounding));
    if (p->mode == 2) { /* SQUARED_DIFFERENCE: (2^7 scaled difference)^2 fits int32 */
        const int32_t diff = scaled1 - scaled2;
        const int32_t raw = tm_mbqm_lt_one(diff * diff, p->output_multiplier, p->output_shift, TM_ROUNDING(p->rounding));
        return tm_clamp(raw + p->output_offset, p->activation.min, p->activation.max);
    }
    const int32_t raw_sum = p->mode == 1 ? scaled1 - scaled2 : scaled1 + scaled2;
    const int32_t raw_out =
        tm_mbqm_lt_one(raw_sum, p->output_multiplier, p->output_shift, TM_ROUNDING(p->rounding)) + p->output_offset;
    return tm_clamp(raw_out, p->activation.min, p->activation.max);
}

void tinyml_add_s8(const tinyml_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const tinyml_broadcast_t *g = &p->geometry;
    int32_t idx[TINYML_MAX_DIMS] = {0};
    const int32_t total = tm_nd_count(g->out_shape);
    int32_t o1 = 0, o2 = 0;
    for (int32_t i = 0; i < total; ++i) {
        output[i] = (int8_t)add_one(p, input1[o1], input2[o2]);
        tm_nd_next(idx, g->out_shape, g->in1_strides, &o1, g->in2_strides, &o2);
    }
}
