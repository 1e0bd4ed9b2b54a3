/* HARD_SWISH, int8: x * relu6(x + 3) / 6 in 16-bit fixed point (TFLite's scheme). */
#include "tinyml/kernels.h"

static int16_t srdhm16(int16_t a, int16_t b)
{
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* Doubling high multiply rounding towards zero (like ARM SQDMULH). */
static int16_t sdhm16(int16_t a, int16_t b)
{
    if (a == b && a == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    return (int16_t)(ab / (1 << 15));
}

static int16_t sat_left_shift16(int16_t v, int amount)
{
    const int32_t r = (int32_t)v * (1 << amount);
    return (int16_t)(r > INT16_MAX ? INT16_MAX : (r < INT16_MIN ? INT16_MIN : r));
}

static int16_t rdbpot16(int16_t x, int exponent)
{
    const int16_t mask = (int16_t)((1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

void tinyml_hard_swish_s8(const tinyml_hard_swish_params_t *p, const int8_t *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int16_t in_value = (int16_t)(input[i] - p->input_zero_point);
        const int16_t in_hires = (int16_t)(in_value * (1 << 7));
        const int16_t in_preshift_out = srdhm16(in_hires, p->output_multiplier_fixedpoint_int16);
        int16_t reluish = in_hires;
        if (p->reluish_multiplier_exponent > 0) {
            reluish = sat_left_shift16(reluish, p->reluish_multiplier_exponent - 1);
        }
        reluish = srdhm16(reluish, p->reluish_multiplier_fixedpoint_int16);
        if (p->reluish_multiplier_exponent > 0) {
            reluish = sat_left_shift16(reluish, 1);
        }
        if (p->reluish_multiplier_exponent < 0) {
            reluish = rdbpot16(reluish, -p->reluish_multiplier_exponent);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1);
        const int16_t preshift_out = sdhm16(reluish, in_preshift_out);
        int32_t out = rdbpot16(preshift_out, -p->output_multiplier_exponent);
        out += p->output_zero_point;
        output[i] = (int8_t)tm_clamp(out, INT8_MIN, INT8_MAX);
    }
}
