/* MAXIMUM / MINIMUM, int8, N-d broadcasting: TFLite compares the raw values (inputs and output
 * share one quantization). */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_max_min_s8(const tinyml_max_min_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output)
{
    const tinyml_broadcast_t *g = &p->geometry;
    const int32_t total = tm_nd_count(g->out_shape);
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t o1 = 0, o2 = 0;
    for (int32_t i = 0; i < total; ++i) {
        const int8_t a = in1[o1], b = in2[o2];
        output[i] = p->minimum ? (a < b ? a : b) : (a > b ? a : b);
        tm_nd_next(idx, g->out_shape, g->in1_strides, &o1, g->in2_strides, &o2);
    }
}
