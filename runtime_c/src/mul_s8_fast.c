/*
 * MUL, int8, without broadcasting: the fast variant of tinyml_mul_s8,
 * bit-identical to it (both rounding contracts), for inputs that both have the
 * output's shape (contiguous, the compiler only selects it then).
 *
 * The reference, per element: with P = (x1 + input1_offset) * (x2 + input2_offset),
 *     out = output_offset + tm_mbqm(P, m, shift)
 * then the activation clamp. |P| <= 2^16, so 2P, and 2P * 2^shift for shift
 * <= 13, fit an int32, and the requantization is one high multiply:
 *   shift >= 0 (both contracts: no right shift, one rounding at bit 30):
 *       floor((P * 2^shift * m + 2^30) / 2^31) = SMMLAR(2P << shift, m, 0)
 *   shift = -e < 0, DOUBLE: tm_srdhm is y = floor((P * m + 2^30) / 2^31) (ties
 *       up; the INT32_MIN case cannot occur), tm_rdbpot(y, e) is
 *       floor((y + 2^(e-1) - [y < 0]) / 2^e), and nested floors with integer
 *       addends merge:  SMMLAR(2P, m, 2^(e-1) - [y < 0]) >> e. [y < 0] matters
 *       only at a tie, where y != 0 and so [y < 0] == [P < 0] (m >= 0): the
 *       kernel takes the sign of 2P (ADD ..., ASR #31).
 *   shift = -e < 0, SINGLE: floor((P * m + 2^(30+e)) / 2^(31+e)) = SMMLA(2P, m, 2^(e-1)) >> e.
 * The output offset z joins the accumulator (floor(q / 2^e) + z = floor((q +
 * z * 2^e) / 2^e)): z for shift >= 0, 2^(e-1) * (2z + 1) otherwise. Every
 * accumulator stays below 2^30 in magnitude for shifts in [-22, 13]: no step wraps.
 *
 * Loops: 4 elements per step (one word load per input, one word store). The
 * offsets are added to both inputs' bytes as int16 pairs (SXTAB16, SXTAB16 ROR
 * #8: elements 0 and 2, 1 and 3), input 1's pairs doubled (SADD16), the four
 * 2P from SMULBB / SMULTT; then per element [LSL,] [ADD,] SMMLA(R), [ASR,]
 * SSAT; per word 3 BFI and SSUB8 + SEL twice for the activation clamp. Both
 * words are loaded before the word is stored and the tail goes element by
 * element, so output may equal input1 or input2.
 *
 * Fallback: parameters outside these ranges (an input offset outside [-128,
 * 128], an output shift outside [-22, 13] or offset outside [-128, 127], a
 * negative multiplier, an activation range that is not a sub-range of int8)
 * run tinyml_mul_s8 itself, which walks the same contiguous elements.
 */
#include <stddef.h>
#include <stdint.h>

#include "tinyml/kernels.h"
#include "tinyml/simd.h"

#define MUL_INLINE static inline __attribute__((always_inline))

/* How the product is requantized: */
enum {
    MUL_LEFT = 0,     /* shift >= 0: SMMLAR(2P << shift, m, z) */
    MUL_DOUBLE = 1,   /* shift < 0, DOUBLE: SMMLAR(2P, m, c - [P < 0]) >> e */
    MUL_SINGLE = 2    /* shift < 0, SINGLE: SMMLA(2P, m, c) >> e */
};

/* The layer's constants, computed once per call (the assembly loop reads them by offset). */
typedef struct {
    int32_t off1, off2;     /* the input offsets in both halfwords */
    int32_t c, m, sh;       /* accumulator, multiplier, shift (left for MUL_LEFT, else right) */
    int32_t min4, max4;     /* the activation bounds in every byte */
    int32_t act_min, act_max;
    int32_t in1_offset, in2_offset;
    int mode;
} mul_plan_t;

/* The assembly loop's view of mul_plan_t. */
typedef char mul_plan_layout_check[(offsetof(mul_plan_t, c) == 8 && offsetof(mul_plan_t, sh) == 16 &&
                                    offsetof(mul_plan_t, max4) == 24) ? 1 : -1];

static int mul_plan(const tinyml_mul_params_t *p, mul_plan_t *k)
{
    const int32_t o1 = p->input1_offset, o2 = p->input2_offset, zo = p->output_offset, s = p->output_shift;
    const int32_t lo = p->activation.min, hi = p->activation.max;
    if (o1 < -128 || o1 > 128 || o2 < -128 || o2 > 128 || p->output_multiplier < 0 || s < -22 || s > 13 ||
        zo < -128 || zo > 127 || lo < -128 || hi > 127 || lo > hi) {
        return 0;
    }
    k->off1 = (int32_t)((uint32_t)(uint16_t)o1 * 0x00010001u);
    k->off2 = (int32_t)((uint32_t)(uint16_t)o2 * 0x00010001u);
    k->in1_offset = o1;
    k->in2_offset = o2;
    k->m = p->output_multiplier;
    if (s >= 0) {
        k->mode = MUL_LEFT;
        k->c = zo;
        k->sh = s;
    } else {
        k->mode = TM_ROUNDING(p->rounding) == TINYML_ROUND_DOUBLE ? MUL_DOUBLE : MUL_SINGLE;
        k->sh = -s;
        k->c = (int32_t)((uint32_t)(2 * zo + 1) << (k->sh - 1));
    }
    k->act_min = lo;
    k->act_max = hi;
    k->min4 = (int32_t)((uint32_t)(uint8_t)lo * 0x01010101u);
    k->max4 = (int32_t)((uint32_t)(uint8_t)hi * 0x01010101u);
    return 1;
}

/* The int8 output (before the activation clamp) of one element, from p2 = 2P. */
MUL_INLINE int32_t mul_out(const mul_plan_t *k, int32_t p2, int mode)
{
    int32_t r;
    if (mode == MUL_LEFT) {
        r = tm_smmlar((int32_t)((uint32_t)p2 << k->sh), k->m, k->c);
    } else if (mode == MUL_DOUBLE) {
        r = tm_smmlar(p2, k->m, k->c + (p2 >> 31)) >> k->sh;
    } else {
        r = tm_smmla(p2, k->m, k->c) >> k->sh;
    }
    return tm_ssat8(r);
}

/* One element with the mode known only at run time (the n % 4 tail). */
static int8_t mul_one(const mul_plan_t *k, int32_t x1, int32_t x2)
{
    const int32_t p2 = 2 * (x1 + k->in1_offset) * (x2 + k->in2_offset);
    const int32_t r = k->mode == MUL_LEFT ? mul_out(k, p2, MUL_LEFT)
                      : k->mode == MUL_DOUBLE ? mul_out(k, p2, MUL_DOUBLE) : mul_out(k, p2, MUL_SINGLE);
    return (int8_t)tm_clamp(r, k->act_min, k->act_max);
}

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* ---- the assembly loop (ARMv7E-M / ARMv8.1-M DSP) ------------------------
 * The constant block `kb` (mul_plan_t's first 7 words: off1, off2, c, m, sh,
 * min4, max4) is reloaded with LDRD / LDR right before the phase that needs it,
 * so the loop needs 13 registers. */
#define MUL_LANES                                         \
    "ldr    %[w1], [%[x1]], #4\n\t"                       \
    "ldr    %[w2], [%[x2]], #4\n\t"                       \
    "ldrd   %[a], %[b], [%[kb], #0]\n\t"                  \
    "sxtab16 %[p0], %[a], %[w1]\n\t"                      \
    "sxtab16 %[w1], %[a], %[w1], ror #8\n\t"              \
    "sadd16 %[p0], %[p0], %[p0]\n\t"                      \
    "sadd16 %[w1], %[w1], %[w1]\n\t"                      \
    "sxtab16 %[a], %[b], %[w2]\n\t"                       \
    "sxtab16 %[w2], %[b], %[w2], ror #8\n\t"              \
    "smultt %[p2], %[p0], %[a]\n\t"                       \
    "smulbb %[p0], %[p0], %[a]\n\t"                       \
    "smultt %[p3], %[w1], %[w2]\n\t"                      \
    "smulbb %[p1], %[w1], %[w2]\n\t"                      \
    "ldrd   %[a], %[b], [%[kb], #8]\n\t"                  \
    "ldr    %[w1], [%[kb], #16]\n\t"

/* One element's requantization, c in a, m in b, shift in w1, temp w2. */
#define MUL_OUT_LEFT(p)                                   \
    "lsl    %[" p "], %[" p "], %[w1]\n\t"                \
    "smmlar %[" p "], %[" p "], %[b], %[a]\n\t"           \
    "ssat   %[" p "], #8, %[" p "]\n\t"
#define MUL_OUT_DOUBLE(p)                                 \
    "add    %[w2], %[a], %[" p "], asr #31\n\t"           \
    "smmlar %[" p "], %[" p "], %[b], %[w2]\n\t"          \
    "asr    %[" p "], %[" p "], %[w1]\n\t"                \
    "ssat   %[" p "], #8, %[" p "]\n\t"
#define MUL_OUT_SINGLE(p)                                 \
    "smmla  %[" p "], %[" p "], %[b], %[a]\n\t"           \
    "asr    %[" p "], %[" p "], %[w1]\n\t"                \
    "ssat   %[" p "], #8, %[" p "]\n\t"

#define MUL_STORE                                         \
    "bfi    %[p0], %[p1], #8, #8\n\t"                     \
    "bfi    %[p0], %[p2], #16, #8\n\t"                    \
    "bfi    %[p0], %[p3], #24, #8\n\t"                    \
    "ldrd   %[a], %[b], [%[kb], #20]\n\t"                 \
    "ssub8  %[w2], %[p0], %[a]\n\t"                       \
    "sel    %[p0], %[p0], %[a]\n\t"                       \
    "ssub8  %[w2], %[p0], %[b]\n\t"                       \
    "sel    %[p0], %[b], %[p0]\n\t"                       \
    "str    %[p0], [%[y]], #4\n\t"                        \
    "cmp    %[y], %[end]\n\t"                             \
    "bne    1b\n\t"

#define MUL_ASM(OUT)                                                                                 \
    do {                                                                                             \
        int32_t w1, w2, a, b, p0, p1, p2, p3;                                                        \
        __asm__ volatile("1:\n\t" MUL_LANES OUT("p0") OUT("p1") OUT("p2") OUT("p3") MUL_STORE        \
                         : [x1] "+r"(x1), [x2] "+r"(x2), [y] "+r"(y), [w1] "=&r"(w1), [w2] "=&r"(w2), \
                           [a] "=&r"(a), [b] "=&r"(b), [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), \
                           [p3] "=&r"(p3)                                                            \
                         : [kb] "r"(k), [end] "r"(end)                                               \
                         : "cc", "memory");                                                          \
    } while (0)

/* Elements [0, 4 * (n / 4)), n >= 4. */
static void mul_asm(const mul_plan_t *k, const int8_t *x1, const int8_t *x2, int8_t *y, int32_t n)
{
    const int8_t *const end = y + (n & ~(int32_t)3);
    if (k->mode == MUL_LEFT) {
        MUL_ASM(MUL_OUT_LEFT);
    } else if (k->mode == MUL_DOUBLE) {
        MUL_ASM(MUL_OUT_DOUBLE);
    } else {
        MUL_ASM(MUL_OUT_SINGLE);
    }
}
#else
MUL_INLINE void mul_loop(const mul_plan_t *plan, const int8_t *x1, const int8_t *x2, int8_t *y, int32_t n, int mode)
{
    const mul_plan_t k = *plan;
    for (int32_t i = n >> 2; i > 0; --i) {
        const int32_t w1 = tm_load_s8x4(x1), w2 = tm_load_s8x4(x2);
        int32_t a_even = tm_sxtab16(k.off1, w1), a_odd = tm_sxtab16_ror8(k.off1, w1);
        a_even = tm_sadd16(a_even, a_even);
        a_odd = tm_sadd16(a_odd, a_odd);
        const int32_t b_even = tm_sxtab16(k.off2, w2), b_odd = tm_sxtab16_ror8(k.off2, w2);
        const int32_t r0 = mul_out(&k, tm_smulbb(a_even, b_even), mode);
        const int32_t r1 = mul_out(&k, tm_smulbb(a_odd, b_odd), mode);
        const int32_t r2 = mul_out(&k, tm_smultt(a_even, b_even), mode);
        const int32_t r3 = mul_out(&k, tm_smultt(a_odd, b_odd), mode);
        tm_store_s8x4(y, tm_min_s8x4(tm_max_s8x4(tm_pack_s8x4(r0, r1, r2, r3), k.min4), k.max4));
        x1 += 4;
        x2 += 4;
        y += 4;
    }
}

static void mul_asm(const mul_plan_t *k, const int8_t *x1, const int8_t *x2, int8_t *y, int32_t n)
{
    if (k->mode == MUL_LEFT) {
        mul_loop(k, x1, x2, y, n, MUL_LEFT);
    } else if (k->mode == MUL_DOUBLE) {
        mul_loop(k, x1, x2, y, n, MUL_DOUBLE);
    } else {
        mul_loop(k, x1, x2, y, n, MUL_SINGLE);
    }
}
#endif

void tinyml_mul_s8_fast(const tinyml_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    mul_plan_t k;
    if (!mul_plan(p, &k)) {
        tinyml_mul_s8(p, input1, input2, output); /* contiguous and in-place safe as well */
        return;
    }
    const int32_t n = tm_nd_count(p->geometry.out_shape);
    if (n >= 4) {
        mul_asm(&k, input1, input2, output, n);
    }
    for (int32_t i = n & ~(int32_t)3; i < n; ++i) {
        output[i] = mul_one(&k, input1[i], input2[i]);
    }
}
