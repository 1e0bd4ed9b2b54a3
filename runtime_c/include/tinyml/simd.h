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

#endif /* TINYML_SIMD_H */
