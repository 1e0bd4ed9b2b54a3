/* RSQRT, int8 (TFLite's RsqrtEvalQuantized): the offset input x - zp_in as an integer, its inverse
 * square root as a quantized multiplier and shift (GetInvSqrtQuantizedMultiplierExp: a Newton-Raphson
 * iteration in Q3.28), applied to 1 with 20 bits of headroom, then the output multiplier
 * 1 / (sqrt(input_scale) * output_scale) with those 20 bits taken back, plus the output zero point. */
#include "tinyml/kernels.h"

#define RSQRT_HEADROOM_BITS 20 /* keeps 1/sqrt(x) an integer between the two multiplications */

/* 1/sqrt(v) for v >= 2: *multiplier * 2^(*shift - 31), *shift <= 0 (a right shift). */
static void inv_sqrt_multiplier(int32_t v, int32_t *multiplier, int32_t *shift)
{
    int32_t right_shift = 11;
    while (v >= ((int32_t)1 << 29)) {
        v /= 4;
        ++right_shift;
    }
    /* normalise v into [2^27, 2^29) by whole bit pairs, so its square root shifts by whole bits */
    const int32_t bit_pairs = (tm_clz32((uint32_t)v) - 1) / 2 - 1;
    right_shift -= bit_pairs;
    v = (int32_t)((uint32_t)v << (2 * bit_pairs));

    /* x <- 3/2 x - v/2 x^3 in Q3.28, from x = 1, five times */
    const int32_t half_v = tm_rdbpot(v >> 1, 1);
    const int32_t three_halves = ((int32_t)1 << 28) + ((int32_t)1 << 27);
    int32_t x = (int32_t)1 << 28;
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = tm_sat_shift_left(tm_srdhm(tm_srdhm(x, x), x), 6); /* Q9 -> Q3 */
        x = tm_sat_shift_left(tm_wsub(tm_srdhm(three_halves, x), tm_srdhm(half_v, x3)), 3); /* Q6 -> Q3 */
    }
    x = tm_srdhm(x, 1518500250); /* times sqrt(2)/2 in Q0.31 */
    if (right_shift < 0) {
        x = (int32_t)((uint32_t)x << -right_shift);
        right_shift = 0;
    }
    *multiplier = x;
    *shift = -right_shift;
}

void tinyml_rsqrt_s8(const tinyml_rsqrt_params_t *p, const int8_t *input, int8_t *output)
{
    const tinyml_rounding_t rounding = TM_ROUNDING(p->rounding);
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= 0) { /* 0 is the largest output; below 0 the oracles stop with an error */
            output[i] = INT8_MAX;
            continue;
        }
        int32_t m = INT32_MAX, s = 0; /* 1/sqrt(1) */
        if (x > 1) {
            inv_sqrt_multiplier(x, &m, &s);
        }
        const int32_t inv_sqrt = tm_mbqm(1, m, s + RSQRT_HEADROOM_BITS, rounding);
        const int32_t out = tm_mbqm(inv_sqrt, p->multiplier, p->shift - RSQRT_HEADROOM_BITS, rounding);
        output[i] = (int8_t)tm_clamp(out + p->output_zero_point, INT8_MIN, INT8_MAX);
    }
}
