/*
 * tinyml/fixedpoint.h - integer fixed-point arithmetic shared by all kernels.
 *
 * These functions reproduce, bit for bit, the integer arithmetic that
 * TensorFlow Lite's reference kernels use (gemmlowp-style fixed point).
 * Every function is a pure function of its arguments.
 *
 * Rounding contracts (see docs in README, "Two oracles"):
 *   TINYML_ROUND_DOUBLE  - TF-Lite Micro: a saturating rounding doubling
 *                          high multiply (round half away from zero at bit 31)
 *                          followed by a rounding right shift (round half up,
 *                          ties away from zero for negatives).
 *   TINYML_ROUND_SINGLE  - LiteRT (TFLITE_SINGLE_ROUNDING): one 64-bit product,
 *                          one rounding right shift by (31 - shift), ties
 *                          rounded towards +infinity.
 *
 * A Qm.n value below is an int32 with m integer bits and n = 31 - m
 * fractional bits.
 */
#ifndef TINYML_FIXEDPOINT_H
#define TINYML_FIXEDPOINT_H

#include <stdint.h>

typedef enum {
    TINYML_ROUND_DOUBLE = 0,
    TINYML_ROUND_SINGLE = 1
} tinyml_rounding_t;

/*
 * One contract per build. A model's build defines TINYML_ONLY_ROUND_DOUBLE or
 * TINYML_ONLY_ROUND_SINGLE (tinyml does, from the network's contract) and every
 * rounding a kernel reads through TM_ROUNDING() becomes that constant, so the
 * other contract's requantization paths are not linked. The caller then
 * guarantees that every params struct it passes has that rounding (the
 * generated model.c checks the define at compile time). Without either define
 * (the kernel tests, a user's own build) a kernel follows the params' field.
 */
#if defined(TINYML_ONLY_ROUND_DOUBLE) && defined(TINYML_ONLY_ROUND_SINGLE)
#error "define at most one of TINYML_ONLY_ROUND_DOUBLE and TINYML_ONLY_ROUND_SINGLE"
#elif defined(TINYML_ONLY_ROUND_DOUBLE)
#define TM_ROUNDING(r) ((void)(r), TINYML_ROUND_DOUBLE)
#elif defined(TINYML_ONLY_ROUND_SINGLE)
#define TM_ROUNDING(r) ((void)(r), TINYML_ROUND_SINGLE)
#else
#define TM_ROUNDING(r) (r)
#endif

/* Saturating rounding doubling high multiply: round(a * b / 2^31). */
static inline int32_t tm_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 integer division truncates towards zero, as required. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* Rounding divide by 2^exponent (exponent in [0, 31]), ties away from zero. */
static inline int32_t tm_rdbpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent for exponent >= 0, saturating to the int32 range. */
static inline int32_t tm_sat_shift_left(int32_t x, int exponent)
{
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT: left (saturating) or right (rounding). */
static inline int32_t tm_sat_round_mul_pot(int32_t x, int exponent)
{
    return exponent >= 0 ? tm_sat_shift_left(x, exponent) : tm_rdbpot(x, -exponent);
}

/* (a + b) / 2 rounded half away from zero, without overflow. */
static inline int32_t tm_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

static inline int32_t tm_sat_add(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int32_t tm_sat_sub(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a - (int64_t)b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static inline int tm_clz32(uint32_t x)
{
    return x == 0 ? 32 : __builtin_clz(x);
}

/* Wrapping int32 add/sub (the reference arithmetic wraps; avoid signed-overflow UB). */
static inline int32_t tm_wadd(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t tm_wsub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/*
 * Multiply by a quantized multiplier: x * multiplier * 2^(shift - 31), rounded.
 * multiplier in [0, 2^31), shift in [-31, 30].
 */
static inline int32_t tm_mbqm(int32_t x, int32_t multiplier, int32_t shift, tinyml_rounding_t rounding)
{
    if (TM_ROUNDING(rounding) == TINYML_ROUND_SINGLE) {
        const int total_shift = 31 - shift;
        const int64_t round = (int64_t)1 << (total_shift - 1);
        const int64_t result = ((int64_t)x * (int64_t)multiplier + round) >> total_shift;
        return (int32_t)result;
    }
    const int left_shift = shift > 0 ? shift : 0;
    const int right_shift = shift > 0 ? 0 : -shift;
    return tm_rdbpot(tm_srdhm((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
static inline int32_t tm_mbqm_gt_one(int32_t x, int32_t multiplier, int32_t left_shift, tinyml_rounding_t rounding)
{
    if (TM_ROUNDING(rounding) == TINYML_ROUND_SINGLE) {
        return tm_mbqm(x, multiplier, left_shift, rounding);
    }
    return tm_srdhm((int32_t)((uint32_t)x << left_shift), multiplier);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0). */
static inline int32_t tm_mbqm_lt_one(int32_t x, int32_t multiplier, int32_t left_shift, tinyml_rounding_t rounding)
{
    if (TM_ROUNDING(rounding) == TINYML_ROUND_SINGLE) {
        return tm_mbqm(x, multiplier, left_shift, rounding);
    }
    return tm_rdbpot(tm_srdhm(x, multiplier), -left_shift);
}

static inline int32_t tm_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* exp(a) for a Q0.31 value a in [-1/4, 0): Taylor expansion around -1/8. */
static inline int32_t tm_exp_on_interval_neg_quarter_0(int32_t a)
{
    const int32_t constant_term = 1895147668;   /* exp(-1/8) in Q0.31 */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 in Q0.31 */
    const int32_t x = tm_wadd(a, (int32_t)1 << 28);
    const int32_t x2 = tm_srdhm(x, x);
    const int32_t x3 = tm_srdhm(x2, x);
    const int32_t x4 = tm_srdhm(x2, x2);
    const int32_t x4_over_4 = tm_rdbpot(x4, 2);
    const int32_t poly = tm_rdbpot(tm_wadd(tm_srdhm(tm_wadd(x4_over_4, x3), constant_1_over_3), x2), 1);
    return tm_wadd(constant_term, tm_srdhm(constant_term, tm_wadd(x, poly)));
}

/* exp(a) for a <= 0 given in Q(integer_bits).(31-integer_bits); result in Q0.31. */
static inline int32_t tm_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t multipliers[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242
    }; /* exp(-2^k) for k = -2 .. 4, in Q0.31 */
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = tm_wsub(a & mask, one_quarter);
    int32_t result = tm_exp_on_interval_neg_quarter_0(tm_sat_round_mul_pot(a_mod_quarter_minus_quarter, integer_bits));
    const int32_t remainder = tm_wsub(a_mod_quarter_minus_quarter, a);
    for (int k = -2; k <= 4; ++k) {
        if (integer_bits > k) {
            const int shift_amount = fractional_bits + k;
            if (remainder & ((int32_t)1 << shift_amount)) {
                result = tm_srdhm(result, multipliers[k + 2]);
            }
        }
    }
    if (integer_bits > 5) {
        const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
        if (a < clamp) {
            result = 0;
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* 1 / (1 + a) in Q2.29 for a Q0.31 value a in [0, 1): Newton-Raphson on the half denominator
 * (gemmlowp's one_over_one_plus_x_for_x_in_0_1 before its final rescale). */
static inline int32_t tm_newton_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = tm_rounding_half_sum(a, INT32_MAX);
    const int32_t c_48_over_17 = 1515870810;      /* Q2.29 */
    const int32_t c_neg_32_over_17 = -1010580540; /* Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = tm_wadd(c_48_over_17, tm_srdhm(half_denominator, c_neg_32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = tm_srdhm(half_denominator, x);
        const int32_t one_minus = tm_wsub(one_q2, half_denominator_times_x);
        x = tm_wadd(x, tm_sat_shift_left(tm_srdhm(x, one_minus), 2));
    }
    return x;
}

/* 1 / (1 + a) for a Q0.31 value a in [0, 1); result in Q0.31. */
static inline int32_t tm_one_over_one_plus_x(int32_t a)
{
    return tm_sat_shift_left(tm_newton_one_over_one_plus_x(a), 1);
}

/* (1 - a) / (1 + a) = 2 / (1 + a) - 1 for a Q0.31 value a in [0, 1); result in Q0.31. */
static inline int32_t tm_one_minus_x_over_one_plus_x(int32_t a)
{
    return tm_sat_shift_left(tm_wsub(tm_newton_one_over_one_plus_x(a), (int32_t)1 << 29), 2);
}

/* tanh(a) for a in Q(integer_bits); result in Q0.31: -tanh(-|a|) = (1 - e) / (1 + e), e = exp(-2|a|).
 * 2|a| is the same raw value read with one more integer bit (gemmlowp's ExactMulByPot<1>). */
static inline int32_t tm_tanh(int32_t a, int integer_bits)
{
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : tm_wsub(0, a);
    const int32_t t = tm_one_minus_x_over_one_plus_x(tm_exp_on_negative_values(n, integer_bits + 1));
    return a < 0 ? tm_wsub(0, t) : t;
}

/* logistic(a) for a in Q(integer_bits); result in Q0.31. */
static inline int32_t tm_logistic(int32_t a, int integer_bits)
{
    if (a == 0) {
        return (int32_t)1 << 30;
    }
    const int32_t abs_input = a > 0 ? a : tm_wsub(0, a);
    const int32_t result_if_positive =
        tm_one_over_one_plus_x(tm_exp_on_negative_values(tm_wsub(0, abs_input), integer_bits));
    return a > 0 ? result_if_positive : tm_wsub(INT32_MAX, result_if_positive);
}

/*
 * 1/x for x in Q(x_integer_digits): returns the Q0.31 reciprocal of x scaled
 * into [1, 2) and the number of bits that scaling removed.
 */
static inline int32_t tm_get_reciprocal(int32_t x, int x_integer_digits, int *num_bits_over_unit)
{
    const int headroom_plus_one = tm_clz32((uint32_t)x);
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    return tm_one_over_one_plus_x(shifted_sum_minus_one);
}

/*
 * log(x) for x >= 1 given in Q(input_integer_bits); result in
 * Q(output_integer_bits). Polynomial/rational approximation as in TFLite.
 */
static inline int32_t tm_log_x_ge_1(int32_t input, int input_integer_bits, int output_integer_bits)
{
    const int accum_integer_bits = output_integer_bits + 1;
    const int32_t log_2 = 1488522236;
    const int32_t sqrt_sqrt_half = 1805811301;
    const int32_t sqrt_half = 1518500250;
    const int32_t one_quarter = 536870912;
    const int32_t alpha_n = 117049297;
    const int32_t alpha_d = 127690142;
    const int32_t alpha_i = 1057819769;
    const int32_t alpha_f = 638450708;

    const int32_t shifted_quarter = tm_rdbpot(one_quarter, accum_integer_bits);

    const int32_t z_a = input;
    const int z_a_headroom_plus_1 = tm_clz32((uint32_t)z_a);
    const int32_t r_a_tmp = tm_sat_shift_left(z_a, z_a_headroom_plus_1 - 1);
    const int32_t r_a_raw = tm_sat_shift_left(tm_srdhm(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = tm_sat_add(
        tm_sat_shift_left(input_integer_bits - z_a_headroom_plus_1, 31 - accum_integer_bits), shifted_quarter);

    const int32_t z_b = tm_srdhm(z_a, sqrt_half);
    const int z_b_headroom = tm_clz32((uint32_t)z_b) - 1;
    const int32_t r_b_raw = tm_sat_shift_left(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = tm_sat_sub(
        tm_sat_shift_left(input_integer_bits - z_b_headroom, 31 - accum_integer_bits), shifted_quarter);

    const int32_t r = r_a_raw < r_b_raw ? r_a_raw : r_b_raw;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;

    const int32_t p = tm_rounding_half_sum(r, sqrt_sqrt_half);
    int32_t q = tm_wsub(r, sqrt_sqrt_half);
    q = tm_wadd(q, q);

    const int32_t common_sq = tm_srdhm(q, q);
    const int32_t num = tm_wadd(tm_srdhm(q, r), tm_srdhm(tm_srdhm(q, common_sq), alpha_n));
    const int32_t denom_minus_one_0 = tm_wadd(
        tm_srdhm(p, tm_wadd(tm_wadd(alpha_i, q), tm_srdhm(alpha_d, common_sq))), tm_srdhm(alpha_f, q));
    const int32_t recip_denom = tm_one_over_one_plus_x(denom_minus_one_0);

    const int32_t num_scaled = tm_rdbpot(num, accum_integer_bits);
    const int32_t sum = tm_wadd(tm_srdhm(z_pow_2_adj, log_2), tm_srdhm(num_scaled, recip_denom));
    return tm_sat_round_mul_pot(sum, accum_integer_bits - output_integer_bits);
}

#endif /* TINYML_FIXEDPOINT_H */
