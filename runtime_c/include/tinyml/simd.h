/*
 * tinyml/simd.h - the few SIMD primitives the fast kernels are written with.
 *
 * On ARMv7E-M / ARMv8.1-M with the DSP extension (__ARM_FEATURE_DSP) these are
 * single instructions (SXTB16, SMLAD); elsewhere portable C with the same
 * results, so a fast kernel compiles and stays bit-exact on the host too.
 *
 * A "word" is 4 consecutive int8 values b0..b3 (little endian).
 *   tm_sxtb16(w)      -> int16 pair (b0, b2)
 *   tm_sxtb16_ror8(w) -> int16 pair (b1, b3)
 * Dot products of two words reordered the same way are the plain dot product,
 * so the order never needs undoing.
 */
#ifndef TINYML_SIMD_H
#define TINYML_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TINYML_HAVE_DSP 1
#else
#define TINYML_HAVE_DSP 0
#endif

/* Four int8 values from any address (no alignment needed: LDR on Cortex-M4/M7/M55). */
static inline int32_t tm_load_s8x4(const int8_t *p)
{
    int32_t w;
    memcpy(&w, p, 4);
    return w;
}

static inline void tm_store_s8x4(int8_t *p, int32_t w)
{
    memcpy(p, &w, 4);
}

#if TINYML_HAVE_DSP
static inline int32_t tm_sxtb16(int32_t w) { return (int32_t)__sxtb16((uint32_t)w); }
/* SXTB16 Rd, Rm, ROR #8 is one instruction. GCC (12) compiles __sxtb16(w ror 8) to two, and
 * GCC < 13's arm_acle.h has no __ror at all, so GCC-compatible compilers get the instruction. */
static inline int32_t tm_sxtb16_ror8(int32_t w)
{
#if defined(__GNUC__)
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
#else
    return (int32_t)__sxtb16(__ror((uint32_t)w, 8));
#endif
}
/* acc + lo16(a) * lo16(b) + hi16(a) * hi16(b) */
static inline int32_t tm_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad((uint32_t)a, (uint32_t)b, acc); }
#else
static inline int32_t tm_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)(uint16_t)(int16_t)lo) | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}
static inline int32_t tm_sxtb16(int32_t w) { return tm_pack16((int8_t)(w & 0xff), (int8_t)((w >> 16) & 0xff)); }
static inline int32_t tm_sxtb16_ror8(int32_t w)
{
    return tm_pack16((int8_t)((w >> 8) & 0xff), (int8_t)((uint32_t)w >> 24));
}
static inline int32_t tm_smlad(int32_t a, int32_t b, int32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(a & 0xffff) * (int32_t)(int16_t)(b & 0xffff);
    const int32_t hi = (int32_t)(int16_t)((uint32_t)a >> 16) * (int32_t)(int16_t)((uint32_t)b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}
#endif

/* ---- output side: packing, clamping, fast requantization -----------------
 * (added for the pointwise and fully connected fast kernels)
 *
 *   tm_smmla(a, b, acc)       acc + floor(a * b / 2^32), wrapping        SMMLA
 *   tm_ssat8(x)               x saturated to [-128, 127]                 SSAT #8
 *   tm_pack_s8x4(b0, .., b3)  the word of the low bytes of b0 .. b3      3 x BFI
 *   tm_max_s8x4(a, b)         per byte signed max of two words           SSUB8 + SEL
 *   tm_min_s8x4(a, b)         per byte signed min of two words           SSUB8 + SEL
 *   tm_store_s8x2(p, w)       the low two bytes of w to any address      STRH
 *   tm_dup_s8x4(b)            the low byte of b in all four bytes        (once per call)
 */
#if TINYML_HAVE_DSP && defined(__GNUC__)
static inline int32_t tm_smmla(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t tm_ssat8(int32_t x) { return __ssat(x, 8); }
static inline int32_t tm_pack_s8x4(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    __asm__("bfi %0, %1, #8, #8\n\t"
            "bfi %0, %2, #16, #8\n\t"
            "bfi %0, %3, #24, #8"
            : "+&r"(b0)
            : "r"(b1), "r"(b2), "r"(b3));
    return b0;
}
/* SSUB8 sets the GE flags SEL reads: one asm statement keeps the two together. */
static inline int32_t tm_max_s8x4(int32_t a, int32_t b)
{
    int32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %2, %3" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}
static inline int32_t tm_min_s8x4(int32_t a, int32_t b)
{
    int32_t r, t;
    __asm__("ssub8 %1, %2, %3\n\tsel %0, %3, %2" : "=r"(r), "=&r"(t) : "r"(a), "r"(b) : "cc");
    return r;
}
#else
static inline int32_t tm_smmla(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(int32_t)(((int64_t)a * (int64_t)b) >> 32));
}
static inline int32_t tm_ssat8(int32_t x) { return x < -128 ? -128 : (x > 127 ? 127 : x); }
static inline int32_t tm_pack_s8x4(int32_t b0, int32_t b1, int32_t b2, int32_t b3)
{
    return (int32_t)(((uint32_t)b0 & 0xffu) | (((uint32_t)b1 & 0xffu) << 8) | (((uint32_t)b2 & 0xffu) << 16) |
                     ((uint32_t)b3 << 24));
}
static inline int32_t tm_max_s8x4(int32_t a, int32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)((uint32_t)a >> i), y = (int8_t)((uint32_t)b >> i);
        r |= (uint32_t)(uint8_t)(x > y ? x : y) << i;
    }
    return (int32_t)r;
}
static inline int32_t tm_min_s8x4(int32_t a, int32_t b)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)((uint32_t)a >> i), y = (int8_t)((uint32_t)b >> i);
        r |= (uint32_t)(uint8_t)(x < y ? x : y) << i;
    }
    return (int32_t)r;
}
#endif

static inline void tm_store_s8x2(int8_t *p, int32_t w)
{
    const uint16_t h = (uint16_t)w;
    memcpy(p, &h, 2);
}

static inline int32_t tm_dup_s8x4(int32_t b)
{
    return (int32_t)((uint32_t)(uint8_t)b * 0x01010101u);
}

/*
 * Fast requantization with the output offset folded in. For a multiplier in
 * [0, 2^31), a shift in [TM_RQ_FAST_SHIFT_MIN, TM_RQ_FAST_SHIFT_MAX] and an
 * output offset in [-128, 127], with r = tm_rq_fast_r(shift) = -shift - 1 and
 * h = tm_rq_fast_h(shift, offset) = (2 * offset + 1) * 2^(r - 1), for every int32 x:
 *   tm_rq_fast_single(x, m, h, r) == tm_mbqm(x, m, shift, TINYML_ROUND_SINGLE) + offset  (SMMLA, ASR)
 *   tm_rq_fast_double(x, m, h, r) == tm_mbqm(x, m, shift, TINYML_ROUND_DOUBLE) + offset  (AND, ADD, ADD, SMLAL, ASR)
 * Why (e = -shift = r + 1, P = x * m, all in exact integers):
 *   SINGLE: the reference is floor((P + 2^(30+e)) / 2^(31+e)). The offset times
 *     2^(31+e) joins the numerator, which becomes P + h * 2^32, and
 *     floor(n / 2^(31+e)) = floor(floor(n / 2^32) / 2^r) = (h + hi32(P)) >> r.
 *   DOUBLE: tm_srdhm(x, m) is y = floor((P + 2^30) / 2^31) (its nudge and truncation
 *     round ties up; x == m == INT32_MIN cannot occur), and the rounding right
 *     shift of y by e (ties away from zero) is floor((y + 2^(e-1) - [y < 0]) / 2^e).
 *     Nested floors with integer addends merge, so result + offset =
 *     floor((P + L + h * 2^32) / 2^(31+e)) with L = 2^30 - [y < 0] * 2^31. The
 *     sign term changes the result only at a tie, where y != 0 and so [y < 0] ==
 *     [x < 0] (m >= 0): L = 2^30 for x >= 0, -2^30 for x < 0, i.e. the 64-bit addend
 *     L + h * 2^32 has high word h - [x < 0] and low word 0x40000000 + (x & 2^31).
 *   No overflow: |P| < 2^62 and |h| < 2^27, so the sums fit int64, their high word int32.
 * The kernels check every channel's (multiplier, shift) once per call and use
 * tm_mbqm when one is outside this range.
 */
#define TM_RQ_FAST_SHIFT_MIN (-21)
#define TM_RQ_FAST_SHIFT_MAX (-2)

static inline int tm_rq_fast_ok(int32_t multiplier, int32_t shift, int32_t output_offset)
{
    return multiplier >= 0 && shift >= TM_RQ_FAST_SHIFT_MIN && shift <= TM_RQ_FAST_SHIFT_MAX &&
           output_offset >= -128 && output_offset <= 127;
}
/* tm_rq_fast_ok for n (multiplier, shift) pairs at once (branch-free: 7 instructions a pair). */
static inline int tm_rq_fast_all(const int32_t *multiplier, const int32_t *shift, int32_t n, int32_t output_offset)
{
    int32_t bad = (output_offset + 128) | (127 - output_offset); /* negative when out of range */
    for (int32_t i = 0; i < n; ++i) {
        bad |= multiplier[i] | (shift[i] - TM_RQ_FAST_SHIFT_MIN) | (TM_RQ_FAST_SHIFT_MAX - shift[i]);
    }
    return bad >= 0;
}
static inline int32_t tm_rq_fast_r(int32_t shift) { return -shift - 1; }
static inline int32_t tm_rq_fast_h(int32_t shift, int32_t output_offset)
{
    /* (2 * offset + 1) << (r - 1), written to share r's MVN: an LSL and an ASR */
    return (int32_t)((uint32_t)(2 * output_offset + 1) << tm_rq_fast_r(shift)) >> 1;
}
static inline int32_t tm_rq_fast_single(int32_t x, int32_t m, int32_t h, int32_t r)
{
    return tm_smmla(x, m, h) >> r;
}
static inline int32_t tm_rq_fast_double(int32_t x, int32_t m, int32_t h, int32_t r)
{
    const int32_t neg = x >> 31; /* -[x < 0] */
    const uint32_t lo = 0x40000000u + ((uint32_t)neg << 31), hi = (uint32_t)h + (uint32_t)neg;
    const int64_t sum = (int64_t)(((uint64_t)hi << 32) | lo) + (int64_t)x * (int64_t)m;
    return (int32_t)(uint32_t)((uint64_t)sum >> 32) >> r;
}

/* ---- elementwise: byte-to-halfword adds, 16-bit products ----------------
 * (added for the ADD / MUL fast kernels; they also use tm_smmlar, below)
 *
 *   tm_sxtab16(acc, w)          int16 pair acc + (b0, b2), per halfword         SXTAB16
 *   tm_sxtab16_ror8(acc, w)     int16 pair acc + (b1, b3), per halfword         SXTAB16 ROR #8
 *   tm_sadd16(a, b)             int16 pair a + b, per halfword (wrapping)       SADD16
 *   tm_smulbb(a, b)             lo16(a) * lo16(b)                               SMULBB
 *   tm_smultt(a, b)             hi16(a) * hi16(b)                               SMULTT
 */
#if TINYML_HAVE_DSP && defined(__GNUC__)
static inline int32_t tm_sxtab16(int32_t acc, int32_t w) { return (int32_t)__sxtab16((uint32_t)acc, (uint32_t)w); }
static inline int32_t tm_sxtab16_ror8(int32_t acc, int32_t w)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(w));
    return r;
}
static inline int32_t tm_sadd16(int32_t a, int32_t b) { return (int32_t)__sadd16((uint32_t)a, (uint32_t)b); }
static inline int32_t tm_smulbb(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smulbb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t tm_smultt(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smultt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
static inline int32_t tm_add16x2(int32_t a, int32_t b)
{
    const uint32_t lo = ((uint32_t)a + (uint32_t)b) & 0xffffu;
    const uint32_t hi = (((uint32_t)a >> 16) + ((uint32_t)b >> 16)) & 0xffffu;
    return (int32_t)(lo | (hi << 16));
}
static inline int32_t tm_sxtab16(int32_t acc, int32_t w) { return tm_add16x2(acc, tm_sxtb16(w)); }
static inline int32_t tm_sxtab16_ror8(int32_t acc, int32_t w) { return tm_add16x2(acc, tm_sxtb16_ror8(w)); }
static inline int32_t tm_sadd16(int32_t a, int32_t b) { return tm_add16x2(a, b); }
static inline int32_t tm_smulbb(int32_t a, int32_t b)
{
    return (int32_t)(int16_t)(a & 0xffff) * (int32_t)(int16_t)(b & 0xffff);
}
static inline int32_t tm_smultt(int32_t a, int32_t b)
{
    return (int32_t)(int16_t)((uint32_t)a >> 16) * (int32_t)(int16_t)((uint32_t)b >> 16);
}
#endif

/* ---- halfword multiply-accumulates, packing, saturating halfword add/sub ---
 * (added for the in-place depthwise fast kernel)
 *
 *   tm_smlabb(a, b, acc)   acc + lo16(a) * lo16(b), wrapping              SMLABB
 *   tm_smlabt(a, b, acc)   acc + lo16(a) * hi16(b)                         SMLABT
 *   tm_smlatb(a, b, acc)   acc + hi16(a) * lo16(b)                         SMLATB
 *   tm_smlatt(a, b, acc)   acc + hi16(a) * hi16(b)                         SMLATT
 *   tm_smmlar(a, b, acc)   floor((acc * 2^32 + a * b + 2^31) / 2^32), wrapping  SMMLAR
 *   tm_pkhbt(lo, hi)       the int16 pair (lo16(lo), lo16(hi))             PKHBT ..., LSL #16
 *   tm_qadd16(a, b)        per halfword a + b saturated to int16           QADD16
 *   tm_qsub16(a, b)        per halfword a - b saturated to int16           QSUB16
 */
#if TINYML_HAVE_DSP && defined(__GNUC__)
static inline int32_t tm_smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
static inline int32_t tm_smlabt(int32_t a, int32_t b, int32_t acc) { return __smlabt(a, b, acc); }
static inline int32_t tm_smlatb(int32_t a, int32_t b, int32_t acc) { return __smlatb(a, b, acc); }
static inline int32_t tm_smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
static inline int32_t tm_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
static inline int32_t tm_pkhbt(int32_t lo, int32_t hi)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
    return r;
}
static inline int32_t tm_qadd16(int32_t a, int32_t b) { return (int32_t)__qadd16((uint32_t)a, (uint32_t)b); }
static inline int32_t tm_qsub16(int32_t a, int32_t b) { return (int32_t)__qsub16((uint32_t)a, (uint32_t)b); }
#else
static inline int32_t tm_lo16(int32_t w) { return (int32_t)(int16_t)(w & 0xffff); }
static inline int32_t tm_hi16(int32_t w) { return (int32_t)(int16_t)((uint32_t)w >> 16); }
static inline int32_t tm_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tm_lo16(a) * tm_lo16(b)));
}
static inline int32_t tm_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tm_lo16(a) * tm_hi16(b)));
}
static inline int32_t tm_smlatb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tm_hi16(a) * tm_lo16(b)));
}
static inline int32_t tm_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(tm_hi16(a) * tm_hi16(b)));
}
static inline int32_t tm_smmlar(int32_t a, int32_t b, int32_t acc)
{
    const uint64_t sum = ((uint64_t)(uint32_t)acc << 32) + (uint64_t)((int64_t)a * (int64_t)b) + 0x80000000u;
    return (int32_t)(uint32_t)(sum >> 32);
}
static inline int32_t tm_pkhbt(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xffffu) | ((uint32_t)hi << 16));
}
static inline int32_t tm_sat16(int32_t x) { return x < -32768 ? -32768 : (x > 32767 ? 32767 : x); }
static inline int32_t tm_qadd16(int32_t a, int32_t b)
{
    return tm_pkhbt(tm_sat16(tm_lo16(a) + tm_lo16(b)), tm_sat16(tm_hi16(a) + tm_hi16(b)));
}
static inline int32_t tm_qsub16(int32_t a, int32_t b)
{
    return tm_pkhbt(tm_sat16(tm_lo16(a) - tm_lo16(b)), tm_sat16(tm_hi16(a) - tm_hi16(b)));
}
#endif


#endif /* TINYML_SIMD_H */
