/* BATCH_MATMUL, int8, per-tensor requantization, broadcast batch dimensions. */
#include "tinyml/kernels.h"
#include "tinyml/nd_index.h"

void tinyml_batch_matmul_s8(const tinyml_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs,
                            int8_t *output)
{
    const int32_t batches = tm_nd_count(p->batch_shape);
    int32_t idx[TINYML_MAX_DIMS] = {0};
    int32_t lo = 0, ro = 0;
    int8_t *out = output;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *l = lhs + lo, *r = rhs + ro;
        for (int32_t m = 0; m < p->rows; ++m) {
            for (int32_t n = 0; n < p->cols; ++n) {
                int32_t total = 0;
                for (int32_t k = 0; k < p->depth; ++k) {
                    const int32_t a = l[m * p->lhs_row_stride + k * p->lhs_depth_stride] + p->lhs_offset;
                    const int32_t c = r[k * p->rhs_depth_stride + n * p->rhs_col_stride] + p->rhs_offset;
                    total += a * c;
                }
                const int32_t v =
                    tm_mbqm(total, p->output_multiplier, p->output_shift, TM_ROUNDING(p->rounding)) + p->output_offset;
                *out++ = (int8_t)tm_clamp(v, p->activation.min, p->activation.max);
            }
        }
        tm_nd_next(idx, p->batch_shape, p->lhs_batch_strides, &lo, p->rhs_batch_strides, &ro);
    }
}
