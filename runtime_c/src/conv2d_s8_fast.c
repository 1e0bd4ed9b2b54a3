/*
 * CONV_2D, int8, per-channel requantization: the fast variant of
 * tinyml_conv2d_s8 (bit-identical to it), for any kernel size, stride,
 * dilation, padding, batch and channel count. Builds without integer Helium;
 * with it, conv2d_s8_fast_mve.c holds the kernel.
 *
 * Blocking. The output pixels (all batches, row-major) go two at a time. The
 * pair's patches (len = KH * KW * C_in int8 values each, in the filter's HWI
 * order, a tap outside the image filled with the input zero point
 * -input_offset) are gathered into `scratch` (im2col: two columns, back to
 * back; a patch inside the image is KH runs of KW * C_in bytes when
 * dilation.w is 1, copied a word at a time for both pixels at once). Then
 * every pair of output channels gets a 2 pixels x 2 channels tile over the
 * patch, four values a step: each operand word (tm_load_s8x4) is split into
 * its even and odd int16 pairs (tm_sxtb16 / tm_sxtb16_ror8), both operands
 * the same way, and SMLAD adds two products at a time. Every loaded and
 * widened word is used twice: a step is 4 LDR, 8 SXTB16 and 8 SMLAD for 16
 * MACs, 4 steps a loop iteration. With the DSP extension the step is written
 * in assembly, six temporaries next to the loop's eight registers (GCC's
 * scheduling of the same intrinsics hoists the loads and spills). A patch
 * length of 3 mod 4 ends with one more step over the last word, its first
 * (already counted) byte cleared in the columns; other tails, an odd pixel
 * count and an odd C_out are finished by narrower exact code.
 *
 * Arithmetic. The accumulators start at folded_bias[c] = bias[c] +
 * input_offset * sum(filter[c]) and add raw x * w, so they equal the
 * reference's sum((x + input_offset) * w) + bias modulo 2^32 (a padded tap
 * reads -input_offset and adds 0 here; the reference skips it). Each output
 * is requantized once, exactly as tm_mbqm (see "requantization" below).
 *
 * The first layers (C_in 1-3: KWS's 10x4x1, the 3x3x3 stems) take the same
 * path: their patches (40, 27 values) are 10 steps, and 6 steps plus the
 * masked last word. A tile fully unrolled for 27 values measured 4% fewer
 * instructions on the VWW stem, not worth its code (about 1.7 KB).
 *
 * Scratch: tinyml_conv2d_s8_fast_scratch_size() = 2 * KH * KW * C_in bytes,
 * any alignment. The output must not overlap the input or the scratch.
 *
 * The wide build, tinyml_conv2d_s8_fast_wide, is the same kernel with the pair's
 * columns widened to int16 once per pixel pair, as the even and odd pairs the
 * filter words split into (x0 x2 | x1 x3 | x4 x6 | ...; then the len % 4 last
 * values as int16): every output channel reads them, so a step no longer splits
 * the column words. A step is 2 LDR + 2 LDRD, 4 SXTB16 and 8 SMLAD: 16
 * instructions for 16 MACs instead of 20. The columns are gathered as int8 into
 * the upper half of the scratch, then widened forwards into place (column 0 to
 * [0, 2 len), column 1 to [S, S + 2 len), S = 2 len rounded up to a multiple of
 * 4; a value is always read before the bytes it lands on are written).
 * Scratch: tinyml_conv2d_s8_fast_wide_scratch_size() = 2 S bytes, any alignment
 * (the assembly needs it 4-byte aligned, as the memory planner's buffers are, and
 * falls back to C otherwise). A layer with a (multiplier, shift) pair outside
 * the fast requantization's range runs the int8 columns (one copy of the rare
 * general path). The memory planner takes this variant for a layer only where
 * its larger scratch does not raise the arena.
 */
#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)) /* Helium: conv2d_s8_fast_mve.c */

#include <stddef.h>
#include <string.h>

#include "tinyml/dsp_matmul.h"
#include "tinyml/kernels.h"
#include "tinyml/simd.h"

/* the specializations below rely on inlining with constant arguments */
#if defined(__GNUC__)
#define CONV_INLINE static inline __attribute__((always_inline))
#define CONV_NOINLINE __attribute__((noinline))
#else
#define CONV_INLINE static inline
#define CONV_NOINLINE
#endif

size_t tinyml_conv2d_s8_fast_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)2 * (size_t)p->filter.h * (size_t)p->filter.w * (size_t)p->input.c;
}

/* Bytes from the start of widened column 0 to column 1 (a multiple of 4, for LDRD). */
static inline size_t wide_stride(int32_t len)
{
    return ((size_t)2 * (size_t)len + 3u) & ~(size_t)3u;
}

size_t tinyml_conv2d_s8_fast_wide_scratch_size(const tinyml_conv2d_params_t *p)
{
    return 2 * wide_stride(p->filter.h * p->filter.w * p->input.c);
}

/* Everything the loops need, read once from the params. */
typedef struct {
    int32_t in_h, in_w, in_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t out_h, out_w, out_c;
    int32_t len;       /* patch length KH * KW * C_in */
    int32_t row_bytes; /* KW * C_in: one patch row */
    int32_t span_h;    /* input rows a patch spans: (KH - 1) * dilation.h + 1 */
    int32_t span_w;    /* input columns it spans: (KW - 1) * dilation.w + 1 */
    int32_t in_row;    /* bytes of one input row: W * C_in */
    int32_t wide_step; /* wide build: bytes from widened column 0 to column 1 */
    int aligned;       /* wide build: scratch 4-byte aligned (the assembly tile) */
    int32_t fill_word; /* the input zero point in all four bytes */
    int32_t output_offset, act_min, act_max;
    tinyml_rounding_t rounding;
    const int32_t *multiplier, *shift;
} conv_ctx_t;

/* ---- im2col ------------------------------------------------------------ */

static inline void fill_s8(int8_t *dst, int32_t n, int32_t fill_word)
{
    for (; n >= 4; n -= 4, dst += 4) {
        tm_store_s8x4(dst, fill_word);
    }
    for (; n > 0; --n) {
        *dst++ = (int8_t)fill_word;
    }
}

static inline void copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, src += 4, dst += 4) {
        tm_store_s8x4(dst, tm_load_s8x4(src));
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

/* The patches of a pair of pixels that both lie inside the image, dilation.w 1: `rows`
 * runs of n bytes each, src_step apart, the second pixel's runs `other` bytes after the
 * first's, to dst and dst + len (other = len = 0: one pixel, copied twice over). A run of
 * 4 or more bytes goes a word at a time, its last word copied from n - 4 (overlapping:
 * the same values again), so there is no byte tail. */
static CONV_NOINLINE void copy_rows2(int8_t *dst, const int8_t *src, ptrdiff_t other, int32_t rows,
                                     int32_t src_step, int32_t n, int32_t len)
{
    if (n < 4) {
        do {
            for (int32_t k = 0; k < n; ++k) {
                dst[k] = src[k];
                dst[len + k] = src[other + k];
            }
            src += src_step;
            dst += n;
        } while (--rows > 0);
        return;
    }
    do {
        const int8_t *s0 = src, *s1 = src + other;
        int8_t *d0 = dst, *d1 = dst + len;
        for (int8_t *const last = dst + n - 4; d0 < last; s0 += 4, s1 += 4, d0 += 4, d1 += 4) {
            const int32_t a = tm_load_s8x4(s0), b = tm_load_s8x4(s1);
            tm_store_s8x4(d0, a);
            tm_store_s8x4(d1, b);
        }
        const int32_t a = tm_load_s8x4(src + n - 4), b = tm_load_s8x4(src + other + n - 4);
        tm_store_s8x4(dst + n - 4, a);
        tm_store_s8x4(dst + len + n - 4, b);
        src += src_step;
        dst += n;
    } while (--rows > 0);
}

/* The patch whose top-left tap is row y0, column x0 of `image` into dst (len bytes, HWI
 * order, a tap outside the image filled with the input zero point). */
static void im2col_pixel(const conv_ctx_t *c, const int8_t *image, int32_t y0, int32_t x0, int8_t *dst)
{
    const int32_t in_h = c->in_h, in_w = c->in_w, in_c = c->in_c, k_w = c->k_w, row_bytes = c->row_bytes;
    const int32_t dil_h = c->dil_h, dil_w = c->dil_w;
    /* with dilation.w 1 the taps [lo, hi) of a patch row inside the image are one run */
    int32_t lo = 0, hi = k_w;
    if (dil_w == 1) {
        lo = x0 < 0 ? (-x0 < k_w ? -x0 : k_w) : 0;
        hi = in_w - x0 < k_w ? (in_w - x0 > lo ? in_w - x0 : lo) : k_w;
        if (lo == 0 && hi == k_w && y0 >= 0 && y0 + c->span_h <= in_h) {
            copy_rows2(dst, image + (size_t)y0 * c->in_row + (size_t)x0 * in_c, 0, c->k_h, dil_h * c->in_row,
                       row_bytes, 0);
            return;
        }
    }
    for (int32_t ky = 0, iy = y0; ky < c->k_h; ++ky, iy += dil_h, dst += row_bytes) {
        if ((uint32_t)iy >= (uint32_t)in_h) {
            fill_s8(dst, row_bytes, c->fill_word);
            continue;
        }
        const int8_t *const row = image + (size_t)iy * c->in_row;
        if (dil_w == 1) {
            fill_s8(dst, lo * in_c, c->fill_word);
            copy_s8(dst + lo * in_c, row + (size_t)(x0 + lo) * in_c, (hi - lo) * in_c);
            fill_s8(dst + hi * in_c, (k_w - hi) * in_c, c->fill_word);
            continue;
        }
        for (int32_t kx = 0, ix = x0; kx < k_w; ++kx, ix += dil_w) {
            if ((uint32_t)ix < (uint32_t)in_w) {
                copy_s8(dst + kx * in_c, row + (size_t)ix * in_c, in_c);
            } else {
                fill_s8(dst + kx * in_c, in_c, c->fill_word);
            }
        }
    }
}

/* ---- dot-product tiles over a patch of `len` values -------------------- */

/* Whether a patch of len values ends with a masked step: the word of its last four values,
 * the first (counted already) cleared in the column; one step instead of three scalar ones. */
static inline int masked_tail(int32_t len)
{
    return (len & 3) == 3 && len > 4;
}


#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One 4-value step of the 2x2 tile: w walks filter row 0 (row 1 is at w + len), x walks
 * column 0 (column 1 is at x + len). Six temporaries; with the 8 registers live across
 * the loop everything fits r0-r12, lr. FIX is applied to each column word after its load
 * (the masked last step clears a lane already counted). */
#define CONV_STEP_2X2(FIX)                                                                       \
    "ldr    %[t1], [%[w], %[len]]\n\t"                                                           \
    "ldr    %[t0], [%[w]], #4\n\t"                                                               \
    "sxtb16 %[t2], %[t0]\n\t"                                                                    \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                            \
    "sxtb16 %[t3], %[t1]\n\t"                                                                    \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                            \
    "ldr    %[t4], [%[x], %[len]]\n\t" FIX                                                       \
    "sxtb16 %[t5], %[t4]\n\t"                                                                    \
    "sxtb16 %[t4], %[t4], ror #8\n\t"                                                            \
    "smlad  %[a01], %[t2], %[t5], %[a01]\n\t"                                                    \
    "smlad  %[a11], %[t3], %[t5], %[a11]\n\t"                                                    \
    "smlad  %[a01], %[t0], %[t4], %[a01]\n\t"                                                    \
    "smlad  %[a11], %[t1], %[t4], %[a11]\n\t"                                                    \
    "ldr    %[t4], [%[x]], #4\n\t" FIX                                                           \
    "sxtb16 %[t5], %[t4]\n\t"                                                                    \
    "sxtb16 %[t4], %[t4], ror #8\n\t"                                                            \
    "smlad  %[a00], %[t2], %[t5], %[a00]\n\t"                                                    \
    "smlad  %[a10], %[t3], %[t5], %[a10]\n\t"                                                    \
    "smlad  %[a00], %[t0], %[t4], %[a00]\n\t"                                                    \
    "smlad  %[a10], %[t1], %[t4], %[a10]\n\t"
#define CONV_OUTPUTS_2X2                                                                         \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w] "+r"(w), [x] "+r"(x), \
        [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)
/* the asm reads both filter rows and both columns from w and x onwards */
#define CONV_MEMORY_2X2 "m"(*(const int8_t(*)[])w), "m"(*(const int8_t(*)[])x)
#endif

/* Filter rows w, w + len against columns x, x + len: acc[i * 2 + j] += dot(row i, column j). */
CONV_INLINE void tile_2x2(const int8_t *w, const int8_t *x, int32_t len, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
#if TINYML_HAVE_DSP && defined(__GNUC__)
    int32_t t0, t1, t2, t3, t4, t5;
    const int8_t *const end = x + (len & ~15);
    if (x != end) {
        __asm__("1:\n\t" CONV_STEP_2X2("") CONV_STEP_2X2("") CONV_STEP_2X2("") CONV_STEP_2X2("")
                "cmp    %[x], %[end]\n\t"
                "bne    1b\n\t"
                : CONV_OUTPUTS_2X2
                : [len] "r"(len), [end] "r"(end), CONV_MEMORY_2X2
                : "cc");
    }
    if (len & 8) {
        __asm__(CONV_STEP_2X2("") CONV_STEP_2X2("") : CONV_OUTPUTS_2X2 : [len] "r"(len), CONV_MEMORY_2X2);
    }
    if (len & 4) {
        __asm__(CONV_STEP_2X2("") : CONV_OUTPUTS_2X2 : [len] "r"(len), CONV_MEMORY_2X2);
    }
    if (masked_tail(len)) {
        /* the last three values: the word ending at the patch's end */
        --w;
        --x;
        __asm__(CONV_STEP_2X2("bfc    %[t4], #0, #8\n\t") : CONV_OUTPUTS_2X2 : [len] "r"(len), CONV_MEMORY_2X2);
        len = 0;
    }
#else
    for (int32_t k = len >> 2; k > 0; --k, w += 4, x += 4) {
        tm_dot4_2x2(tm_load_s8x4(w), tm_load_s8x4(w + len), tm_load_s8x4(x), tm_load_s8x4(x + len), &a00, &a01,
                    &a10, &a11);
    }
#endif
    for (int32_t k = len & 3; k > 0; --k, ++w, ++x) {
        tm_dot1_2x2(w[0], w[len], x[0], x[len], &a00, &a01, &a10, &a11);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* ---- the wide build: int16 columns -------------------------------------- */

/* The len int8 values at src into the widened layout at dst: per 4 values their even pair,
 * then their odd pair (SXTB16, SXTB16 ROR #8), then the len % 4 last values as int16 (or,
 * with masked_tail, one more group: the last four values, the first cleared: 2 len + 2
 * bytes in all, within the column stride).
 * Forwards, each group read before it is written: dst may start below src as long as
 * dst + 2 k + 8 <= src + k + 4 for every group start k (see the top). */
static void widen(int8_t *dst, const int8_t *src, int32_t len)
{
    for (int32_t g = len >> 2; g > 0; --g, src += 4, dst += 8) {
        const int32_t v = tm_load_s8x4(src);
        tm_store_s8x4(dst, tm_sxtb16(v));
        tm_store_s8x4(dst + 4, tm_sxtb16_ror8(v));
    }
    if (masked_tail(len)) {
        const int32_t v = (int32_t)((uint32_t)tm_load_s8x4(src - 1) & 0xFFFFFF00u);
        tm_store_s8x4(dst, tm_sxtb16(v));
        tm_store_s8x4(dst + 4, tm_sxtb16_ror8(v));
        return;
    }
    for (int32_t k = len & 3; k > 0; --k, ++src, dst += 2) {
        const int16_t v = *src;
        memcpy(dst, &v, 2);
    }
}

static inline int32_t load_s16(const int8_t *p)
{
    int16_t v;
    memcpy(&v, p, 2);
    return v;
}

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One 4-value step of the wide 2x2 tile: w walks filter row 0 (row 1 at w + len), x0 and x1
 * the widened columns (8 bytes a step, 4-byte aligned). With the accumulators, w, x0, x1 and
 * len: 14 registers; the loop bound is a memory operand. */
#define CONV_WIDE_STEP                                                                           \
    "ldr    %[t1], [%[w], %[len]]\n\t"                                                           \
    "ldr    %[t0], [%[w]], #4\n\t"                                                               \
    "sxtb16 %[t2], %[t0]\n\t"                                                                    \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                            \
    "sxtb16 %[t3], %[t1]\n\t"                                                                    \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                            \
    "ldrd   %[t4], %[t5], [%[x1]], #8\n\t"                                                       \
    "smlad  %[a01], %[t2], %[t4], %[a01]\n\t"                                                    \
    "smlad  %[a11], %[t3], %[t4], %[a11]\n\t"                                                    \
    "smlad  %[a01], %[t0], %[t5], %[a01]\n\t"                                                    \
    "smlad  %[a11], %[t1], %[t5], %[a11]\n\t"                                                    \
    "ldrd   %[t4], %[t5], [%[x0]], #8\n\t"                                                       \
    "smlad  %[a00], %[t2], %[t4], %[a00]\n\t"                                                    \
    "smlad  %[a10], %[t3], %[t4], %[a10]\n\t"                                                    \
    "smlad  %[a00], %[t0], %[t5], %[a00]\n\t"                                                    \
    "smlad  %[a10], %[t1], %[t5], %[a10]\n\t"
#define CONV_WIDE_OUTPUTS                                                                        \
    [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w] "+r"(w), [x0] "+r"(x0), \
        [x1] "+r"(x1), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4),  \
        [t5] "=&r"(t5)
#define CONV_WIDE_MEMORY "m"(*(const int8_t(*)[])w), "m"(*(const int8_t(*)[])x0), "m"(*(const int8_t(*)[])x1)
#endif

/* One 4-value step of the wide 2x2 tile in C: the row words at w and w + len against the
 * widened groups at x0 and x1. */
CONV_INLINE void wide_step(const int8_t *w, const int8_t *x0, const int8_t *x1, int32_t len, int32_t *a00,
                           int32_t *a01, int32_t *a10, int32_t *a11)
{
    const int32_t f0 = tm_load_s8x4(w), f1 = tm_load_s8x4(w + len);
    const int32_t f0_e = tm_sxtb16(f0), f0_o = tm_sxtb16_ror8(f0);
    const int32_t f1_e = tm_sxtb16(f1), f1_o = tm_sxtb16_ror8(f1);
    const int32_t c0_e = tm_load_s8x4(x0), c0_o = tm_load_s8x4(x0 + 4);
    const int32_t c1_e = tm_load_s8x4(x1), c1_o = tm_load_s8x4(x1 + 4);
    *a00 = tm_smlad(f0_o, c0_o, tm_smlad(f0_e, c0_e, *a00));
    *a01 = tm_smlad(f0_o, c1_o, tm_smlad(f0_e, c1_e, *a01));
    *a10 = tm_smlad(f1_o, c0_o, tm_smlad(f1_e, c0_e, *a10));
    *a11 = tm_smlad(f1_o, c1_o, tm_smlad(f1_e, c1_e, *a11));
}

/* Filter rows w, w + len against the widened columns x0, x1 (`aligned`: both 4-byte
 * aligned): acc[i * 2 + j] += dot(row i, column j). */
CONV_INLINE void tile_2x2_wide(const int8_t *w, const int8_t *x0, const int8_t *x1, int32_t len, int aligned,
                               int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t groups = len >> 2;
#if TINYML_HAVE_DSP && defined(__GNUC__)
    if (aligned) {
        int32_t t0, t1, t2, t3, t4, t5;
        const int8_t *const end = x0 + 8 * (groups & ~3);
        if (x0 != end) {
            __asm__("1:\n\t" CONV_WIDE_STEP CONV_WIDE_STEP CONV_WIDE_STEP CONV_WIDE_STEP
                    "ldr    %[t0], %[end]\n\t"
                    "cmp    %[x0], %[t0]\n\t"
                    "bne    1b\n\t"
                    : CONV_WIDE_OUTPUTS
                    : [len] "r"(len), [end] "m"(end), CONV_WIDE_MEMORY
                    : "cc");
        }
        if (groups & 2) {
            __asm__(CONV_WIDE_STEP CONV_WIDE_STEP : CONV_WIDE_OUTPUTS : [len] "r"(len), CONV_WIDE_MEMORY);
        }
        if (groups & 1) {
            __asm__(CONV_WIDE_STEP : CONV_WIDE_OUTPUTS : [len] "r"(len), CONV_WIDE_MEMORY);
        }
        if (masked_tail(len)) {
            --w; /* the row word ending at the row's end, against the masked group */
            __asm__(CONV_WIDE_STEP : CONV_WIDE_OUTPUTS : [len] "r"(len), CONV_WIDE_MEMORY);
            len = 0;
        }
        groups = 0;
    }
#else
    (void)aligned;
#endif
    for (; groups > 0; --groups, w += 4, x0 += 8, x1 += 8) {
        wide_step(w, x0, x1, len, &a00, &a01, &a10, &a11);
    }
    if (masked_tail(len)) {
        wide_step(w - 1, x0, x1, len, &a00, &a01, &a10, &a11); /* the row word ending at the end */
        len = 0;
    }
    for (int32_t k = len & 3; k > 0; --k, ++w, x0 += 2, x1 += 2) {
        tm_dot1_2x2(w[0], w[len], load_s16(x0), load_s16(x1), &a00, &a01, &a10, &a11);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* One filter row w against the widened columns x0, x1: acc[j] += dot(w, column j). */
static void dot_1x2_wide(const int8_t *w, const int8_t *x0, const int8_t *x1, int32_t len, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    const int masked = masked_tail(len);
    for (int32_t g = (len >> 2) + masked; g > 0; --g, w += 4, x0 += 8, x1 += 8) {
        /* the masked group, last, against the row word ending at the row's end */
        const int32_t f = tm_load_s8x4(g == 1 && masked ? w - 1 : w);
        const int32_t f_e = tm_sxtb16(f), f_o = tm_sxtb16_ror8(f);
        a0 = tm_smlad(f_o, tm_load_s8x4(x0 + 4), tm_smlad(f_e, tm_load_s8x4(x0), a0));
        a1 = tm_smlad(f_o, tm_load_s8x4(x1 + 4), tm_smlad(f_e, tm_load_s8x4(x1), a1));
    }
    for (int32_t k = masked ? 0 : len & 3; k > 0; --k, ++w, x0 += 2, x1 += 2) {
        a0 += w[0] * load_s16(x0);
        a1 += w[0] * load_s16(x1);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* ---- requantization ----------------------------------------------------
 * An output is clamp(tm_mbqm(acc, m[c], shift[c], rounding) + output_offset). When every
 * channel's (m, shift) is in the range of simd.h's fast requantization (tm_rq_fast_all:
 * shift in [-21, -2], the usual case), that is tm_rq_fast_double / tm_rq_fast_single:
 * one 64-bit product with the rounding and the offset folded into one addend (proved
 * exact there), then SSAT to [-128, 127]; a narrower activation range is applied by one
 * pass over the output at the end (clamp(ssat8(v), lo, hi) == clamp(v, lo, hi) for
 * -128 <= lo <= hi <= 127). Otherwise tm_mbqm and tm_clamp themselves, one pixel and one
 * channel at a time (run_exact, one_exact): a pair outside the fast range is rare once the compiler has
 * folded constant channels (tinyengine/core/fold.py), and a two-pixel copy of the loop for it
 * would add 1.4 KB of code to every model. Each fast mode is its own copy of the output loop. */
enum { RQ_DOUBLE, RQ_SINGLE };

/* the outputs, before the clamp, of two accumulators of channel oc */
CONV_INLINE void requant2(const conv_ctx_t *c, int32_t oc, int32_t x0, int32_t x1, int rq, int32_t *r0, int32_t *r1)
{
    const int32_t m = c->multiplier[oc], shift = c->shift[oc];
    const int32_t r = tm_rq_fast_r(shift), h = tm_rq_fast_h(shift, c->output_offset);
    if (rq == RQ_DOUBLE) {
        *r0 = tm_rq_fast_double(x0, m, h, r);
        *r1 = tm_rq_fast_double(x1, m, h, r);
    } else {
        *r0 = tm_rq_fast_single(x0, m, h, r);
        *r1 = tm_rq_fast_single(x1, m, h, r);
    }
}

/* A narrow activation range over n output bytes (already in [-128, 127]). */
static void clamp_outputs(int8_t *out, size_t n, int32_t lo, int32_t hi)
{
    const int32_t lo4 = tm_dup_s8x4(lo), hi4 = tm_dup_s8x4(hi);
    for (; n >= 4; n -= 4, out += 4) {
        tm_store_s8x4(out, tm_min_s8x4(tm_max_s8x4(tm_load_s8x4(out), lo4), hi4));
    }
    for (; n > 0; --n, ++out) {
        *out = (int8_t)tm_clamp(*out, lo, hi);
    }
}

/* ---- the output loop ---------------------------------------------------- */

/* All C_out outputs of the pixel pair whose patches are col and col + len (`wide`: the
 * widened columns col and col + wide_step), to out0 and out1. `rq` and `wide` are constants
 * wherever this is inlined. */
CONV_INLINE void pixels_out(const conv_ctx_t *c, const int8_t *filter, const int32_t *bias, const int8_t *col,
                            int8_t *out0, int8_t *out1, int rq, int wide)
{
    const int32_t len = c->len, out_c = c->out_c;
    const int8_t *const col1 = wide ? col + c->wide_step : col + len;
    for (int32_t k = 0; k < out_c >> 1; ++k) {
        int32_t oc = 2 * k;
#if TINYML_HAVE_DSP && defined(__GNUC__)
        /* Across the tile's loop every register is taken, so what lives across it is on the
         * stack: deriving the addresses from oc afresh beats keeping an induction variable
         * (a load, an add and a store each) per array. */
        __asm__("" : "+r"(oc));
#endif
        const int8_t *const w = filter + oc * len;
        int32_t r00, r01, r10, r11;
        int32_t acc[4] = {bias[oc], bias[oc], bias[oc + 1], bias[oc + 1]};
        if (wide) {
            tile_2x2_wide(w, col, col1, len, c->aligned, acc);
        } else {
            tile_2x2(w, col, len, acc);
        }
        requant2(c, oc, acc[0], acc[1], rq, &r00, &r01);
        requant2(c, oc + 1, acc[2], acc[3], rq, &r10, &r11);
        /* stored last: a byte store could alias the parameters */
        out0[oc] = (int8_t)tm_ssat8(r00);
        out1[oc] = (int8_t)tm_ssat8(r01);
        out0[oc + 1] = (int8_t)tm_ssat8(r10);
        out1[oc + 1] = (int8_t)tm_ssat8(r11);
    }
    if (out_c & 1) {
        const int32_t oc = out_c - 1;
        const int8_t *const w = filter + oc * len;
        int32_t acc[2] = {bias[oc], bias[oc]}, r0, r1;
        if (wide) {
            dot_1x2_wide(w, col, col1, len, acc);
        } else {
            tm_dot_s8_1x2(w, col, col1, len, acc);
        }
        requant2(c, oc, acc[0], acc[1], rq, &r0, &r1);
        out0[oc] = (int8_t)tm_ssat8(r0);
        out1[oc] = (int8_t)tm_ssat8(r1);
    }
}

typedef void (*pixels_fn)(const conv_ctx_t *c, const int8_t *filter, const int32_t *bias, const int8_t *col,
                          int8_t *out0, int8_t *out1);

/* pixels_out in each fast requantization mode, for int8 and widened columns */
#define CONV_TWO(NAME, RQ, WIDE)                                                                             \
    static void NAME(const conv_ctx_t *c, const int8_t *f, const int32_t *b, const int8_t *col, int8_t *o0, \
                     int8_t *o1)                                                                           \
    {                                                                                                      \
        pixels_out(c, f, b, col, o0, o1, RQ, WIDE);                                                        \
    }
CONV_TWO(two_double, RQ_DOUBLE, 0)
CONV_TWO(two_single, RQ_SINGLE, 0)
CONV_TWO(two_double_wide, RQ_DOUBLE, 1)
CONV_TWO(two_single_wide, RQ_SINGLE, 1)
#undef CONV_TWO

/* The position of the next pixel to gather: its image, output row and column, and the
 * input row and column of its patch's top-left tap. */
typedef struct {
    const int8_t *image;
    int32_t oy, ox, y0, x0;
} cursor_t;

CONV_INLINE void advance(const conv_ctx_t *c, cursor_t *at, size_t image_bytes)
{
    at->x0 += c->stride_w;
    if (++at->ox == c->out_w) {
        at->ox = 0;
        at->x0 = -c->pad_w;
        at->y0 += c->stride_h;
        if (++at->oy == c->out_h) {
            at->oy = 0;
            at->y0 = -c->pad_h;
            at->image += image_bytes;
        }
    }
}

/* All C_out outputs of the pixel whose patch is col, one output channel at a time, with tm_mbqm
 * and tm_clamp: any requantization. Out of line, so the fast loop below keeps its registers. */
static CONV_NOINLINE void one_exact(const conv_ctx_t *c, const int8_t *filter, const int32_t *folded_bias,
                                    const int8_t *col, int8_t *out)
{
    const int8_t *w = filter;
    for (int32_t oc = 0; oc < c->out_c; ++oc, w += c->len) {
        const int32_t acc = tm_dot_s8(w, col, c->len, folded_bias[oc]);
        const int32_t v = tm_mbqm(acc, c->multiplier[oc], c->shift[oc], TM_ROUNDING(c->rounding));
        out[oc] = (int8_t)tm_clamp(v + c->output_offset, c->act_min, c->act_max);
    }
}

/* A layer outside the fast requantization: pixel by pixel. */
static CONV_NOINLINE void run_exact(const conv_ctx_t *c, const int8_t *input, const int8_t *filter,
                                    const int32_t *folded_bias, int8_t *out, int8_t *scratch, int32_t pixels)
{
    const size_t image_bytes = (size_t)c->in_h * c->in_row;
    cursor_t at = {input, 0, 0, -c->pad_h, -c->pad_w};
    for (int32_t i = 0; i < pixels; ++i, out += c->out_c) {
        const cursor_t a = at;
        advance(c, &at, image_bytes);
        im2col_pixel(c, a.image, a.y0, a.x0, scratch);
        one_exact(c, filter, folded_bias, scratch, out);
    }
}

/* Both builds, one copy of the loop: `two` is the entry point's tile for the layer's rounding
 * (so a model links only the tiles of the entry points it calls), `wide` says it reads widened
 * columns. A layer with a pair outside the fast requantization runs run_exact. */
static CONV_NOINLINE void conv_run(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                          const int32_t *folded_bias, int8_t *output, int8_t *scratch,
                          pixels_fn two, int wide)
{
    conv_ctx_t c;
    c.in_h = p->input.h;
    c.in_w = p->input.w;
    c.in_c = p->input.c;
    c.k_h = p->filter.h;
    c.k_w = p->filter.w;
    c.stride_h = p->stride.h;
    c.stride_w = p->stride.w;
    c.dil_h = p->dilation.h;
    c.dil_w = p->dilation.w;
    c.pad_h = p->pad.h;
    c.pad_w = p->pad.w;
    c.out_h = p->output.h;
    c.out_w = p->output.w;
    c.out_c = p->output.c;
    c.row_bytes = c.k_w * c.in_c;
    c.len = c.k_h * c.row_bytes;
    c.span_h = (c.k_h - 1) * c.dil_h + 1;
    c.span_w = (c.k_w - 1) * c.dil_w + 1;
    c.in_row = c.in_w * c.in_c;
    c.fill_word = tm_dup_s8x4(-p->input_offset);
    c.output_offset = p->output_offset;
    c.act_min = p->activation.min;
    c.act_max = p->activation.max;
    c.rounding = TM_ROUNDING(p->rounding);
    c.multiplier = p->quant.multiplier;
    c.shift = p->quant.shift;
    c.wide_step = (int32_t)wide_stride(c.len);
    c.aligned = ((uintptr_t)scratch & 3u) == 0;

    const int fast = c.act_min <= c.act_max && tm_rq_fast_all(c.multiplier, c.shift, c.out_c, c.output_offset);
    /* the wide build gathers the int8 columns above the widened ones (see the top) */
    int8_t *const gather = wide ? scratch + c.wide_step : scratch;

    const size_t image_bytes = (size_t)c.in_h * c.in_row;
    const int32_t pixels = p->output.n * c.out_h * c.out_w;
    /* the top-left taps (y0, x0) of patches inside the image: [0, y_last] x [0, x_last] */
    const int32_t y_last = c.in_h - c.span_h, x_last = c.in_w - c.span_w;
    cursor_t at = {input, 0, 0, -c.pad_h, -c.pad_w};
    int8_t *out = output;
    if (!fast) {
        run_exact(&c, input, filter, folded_bias, output, scratch, pixels);
        return;
    }
    for (int32_t i = 0; i < pixels; i += 2, out += 2 * c.out_c) {
        const cursor_t a = at;
        advance(&c, &at, image_bytes);
        if (i + 1 == pixels) { /* an odd last pixel */
            im2col_pixel(&c, a.image, a.y0, a.x0, scratch);
            one_exact(&c, filter, folded_bias, scratch, out);
            break;
        }
        const cursor_t b = at;
        advance(&c, &at, image_bytes);
        if (c.dil_w == 1 && a.y0 >= 0 && a.y0 <= y_last && a.x0 >= 0 && a.x0 <= x_last && b.y0 >= 0 &&
            b.y0 <= y_last && b.x0 >= 0 && b.x0 <= x_last) {
            const int8_t *const src_a = a.image + (size_t)a.y0 * c.in_row + (size_t)a.x0 * c.in_c;
            const int8_t *const src_b = b.image + (size_t)b.y0 * c.in_row + (size_t)b.x0 * c.in_c;
            copy_rows2(gather, src_a, src_b - src_a, c.k_h, c.dil_h * c.in_row, c.row_bytes, c.len);
        } else {
            im2col_pixel(&c, a.image, a.y0, a.x0, gather);
            im2col_pixel(&c, b.image, b.y0, b.x0, gather + c.len);
        }
        if (wide) {
            widen(scratch, gather, c.len);
            widen(scratch + c.wide_step, gather + c.len, c.len);
        }
        two(&c, filter, folded_bias, scratch, out, out + c.out_c);
    }
    if (fast && (c.act_min > -128 || c.act_max < 127)) {
        clamp_outputs(output, (size_t)pixels * c.out_c, c.act_min, c.act_max);
    }
}

void tinyml_conv2d_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                           const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    const int single = TM_ROUNDING(p->rounding) == TINYML_ROUND_SINGLE;
    conv_run(p, input, filter, folded_bias, output, scratch, single ? two_single : two_double, 0);
}

void tinyml_conv2d_s8_fast_wide(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                                const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    const int single = TM_ROUNDING(p->rounding) == TINYML_ROUND_SINGLE;
    conv_run(p, input, filter, folded_bias, output, scratch, single ? two_single_wide : two_double_wide, 1);
}

#endif /* !__ARM_FEATURE_MVE */
