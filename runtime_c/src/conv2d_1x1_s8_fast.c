/*
 * CONV_2D with a 1x1 kernel, stride 1, no padding (pointwise), int8,
 * per-channel requantization: the fast variant of tinyml_conv2d_1x1_s8,
 * bit-identical to it (and so to tinyml_conv2d_s8) for any pixel and channel
 * count. This file is the portable and the ARMv7E-M DSP build (Cortex-M4/M7;
 * and any core without integer MVE); conv2d_1x1_s8_fast_mve.c is the Helium one.
 *
 * Blocking. Pixels (all batches, row-major) go two at a time, A and B. Both
 * pixels' C_in values are first widened to int16 into `scratch`, four channels
 * at a time, as the even and odd pairs the filter words split into (SXTB16 and
 * SXTB16 ROR #8): A0 A2 | A1 A3 | B0 B2 | B1 B3 | A4 A6 | ... (16 bytes a group;
 * then the C_in % 4 last bytes of A, then those of B, as int8). The widening is
 * done once per pixel pair and read by every output channel. Output channels go
 * in pairs: a 2 pixels x 2 channels tile accumulates over C_in, 4 channels per
 * step: the two filter words are split (SXTB16, SXTB16 ROR #8) and 8 SMLADs add
 * the step's 16 products. A step is 2 LDRD, 2 LDR, 4 SXTB16 and 8 SMLAD: 16
 * instructions for 16 MACs. The tiles of up to
 * PW_BLOCK channel pairs are accumulated into a stack block, then requantized
 * together. When C_in is a multiple of 8 and the scratch 4-byte aligned (the
 * usual case) the whole channel loop is assembly: four steps an iteration, 16
 * instructions a tile around the steps; otherwise a C loop runs the steps two
 * an iteration, one single step and a scalar C_in % 4 tail. An odd C_out and an
 * odd pixel count are finished exactly by narrower C code (2 x 1, 1 x 2 tiles).
 *
 * Arithmetic. The accumulators start at folded_bias[c] = bias[c] + input_offset
 * * sum(filter[c]) and add raw x * w: the reference's sum((x + input_offset) *
 * w) + bias modulo 2^32. Each output is requantized once. When every channel's
 * shift is in [TM_RQ_FAST_SHIFT_MIN, TM_RQ_FAST_SHIFT_MAX] = [-21, -2] (checked
 * once per call) by tm_rq_fast_double / tm_rq_fast_single (simd.h: exact for
 * every int32 accumulator, the output offset folded in; 5 and 2 instructions),
 * else by tm_mbqm, one pixel at a time (1 x 2 tiles from the int8 pixel: rare
 * once the compiler has folded constant channels, and a pair path for it would
 * cost 1 KB of code in every model). A tile's four outputs are saturated to int8, packed into one
 * word, clamped to the activation range per byte (SSUB8 + SEL) and stored as
 * two halfwords: with the requantization 12.5 (double) or 9.5 (single)
 * instructions an output on the DSP path. activation.min <= activation.max.
 *
 * Overlap. As for tinyml_conv2d_1x1_s8, the output may overlap the input if
 *     output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels)
 * bytes: a pixel pair is copied into scratch before any of its outputs is
 * written, and the rule keeps the outputs of pixels 0 .. i+1 below the start
 * of input pixel i+2.
 *
 * Scratch: tinyml_conv2d_1x1_s8_fast_scratch_size() = 4 * C_in bytes (the two
 * pixels widened), any alignment; the DSP loops need it 4-byte aligned (the memory
 * planner's buffers are) and fall back to portable C otherwise. Besides it, the
 * kernel uses 4 * 4 * PW_BLOCK bytes of stack. Kernels never allocate.
 */
#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)) /* Helium: conv2d_1x1_s8_fast_mve.c */

#include <stdint.h>

#include "tinyml/dsp_matmul.h"
#include "tinyml/kernels.h"
#include "tinyml/simd.h"

size_t tinyml_conv2d_1x1_s8_fast_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)4 * (size_t)p->input.c;
}

#if defined(__GNUC__)
#define PW_INLINE static inline __attribute__((always_inline))
#define PW_NOINLINE static __attribute__((noinline))
#else
#define PW_INLINE static inline
#define PW_NOINLINE static
#endif

/* The layer, as the tiles read it. */
typedef struct {
    const int8_t *scratch, *filter;
    const int32_t *bias, *multiplier, *shift;
    int32_t in_c, out_c;
    int32_t row_bytes;    /* bytes of one filter row: C_in (int8), 2 * C_in (the int16 build) */
    const int32_t *rq;    /* the int16 build: per channel m, h, r (kernels.h), for modes 3 and 4 */
    tm_rq_out_t out;      /* output offset, activation, rounding (dsp_matmul.h) */
    int32_t groups_bytes; /* scratch bytes of the C_in / 4 groups (then the tails) */
    int32_t odd_group;    /* (C_in / 4) odd: one single step before the 2-step loop */
    int32_t tail;         /* C_in % 4 */
    int fast;             /* every channel in the tm_rq_fast_* range */
    int aligned;          /* scratch 4-byte aligned */
} pw_layer_t;

/* Requantized, offset and clamped output of channel c (any path). */
static inline int32_t pw_out_one(const pw_layer_t *L, int32_t acc, int32_t c)
{
    return tm_rq_out_one(&L->out, acc, L->multiplier[c], L->shift[c], L->fast);
}

/* ---- the 2 pixels x 2 channels tile -------------------------------------- */

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One step of the tile: s walks the widened scratch (16 bytes a step, 4-byte aligned for the
 * LDRDs), w filter row c (row c + 1 at w + len). xa2, xa: the even and odd int16 pairs of A;
 * xb2, xb: those of B; f2, f: the same split of a filter word. With the accumulators a0 (A.c),
 * a1 (A.c+1), b0 (B.c), b1 (B.c+1), s, w, len and a loop bound: all 14 registers. */
#define PW_STEP_2X2                                                          \
    "ldrd   %[xb2], %[xb], [%[s], #8]\n\t"                                   \
    "ldrd   %[xa2], %[xa], [%[s]], #16\n\t"                                  \
    "ldr    %[f], [%[w], %[len]]\n\t" /* filter row c + 1 */                 \
    "sxtb16 %[f2], %[f]\n\t"                                                 \
    "sxtb16 %[f], %[f], ror #8\n\t"                                          \
    "smlad  %[a1], %[xa2], %[f2], %[a1]\n\t"                                 \
    "smlad  %[b1], %[xb2], %[f2], %[b1]\n\t"                                 \
    "smlad  %[a1], %[xa], %[f], %[a1]\n\t"                                   \
    "smlad  %[b1], %[xb], %[f], %[b1]\n\t"                                   \
    "ldr    %[f], [%[w]], #4\n\t" /* filter row c */                         \
    "sxtb16 %[f2], %[f]\n\t"                                                 \
    "sxtb16 %[f], %[f], ror #8\n\t"                                          \
    "smlad  %[a0], %[xa2], %[f2], %[a0]\n\t"                                 \
    "smlad  %[b0], %[xb2], %[f2], %[b0]\n\t"                                 \
    "smlad  %[a0], %[xa], %[f], %[a0]\n\t"                                   \
    "smlad  %[b0], %[xb], %[f], %[b0]\n\t"
#define PW_OPERANDS_2X2                                                                          \
    : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [s] "+r"(s), [w] "+r"(f_row),  \
      [xa] "=&r"(xa), [xb] "=&r"(xb), [xa2] "=&r"(xa2), [xb2] "=&r"(xb2), [f] "=&r"(f), [f2] "=&r"(f2)
#endif

/* One 4-channel step of the 2 x 2 tile in C: the widened group at s (A even, A odd, B even,
 * B odd pairs) against the filter words f0 (row c) and f1 (row c + 1). */
PW_INLINE void pw_dot4_2x2(const int8_t *s, int32_t f0, int32_t f1, int32_t *a0, int32_t *a1, int32_t *b0,
                           int32_t *b1)
{
    const int32_t xa_e = tm_load_s8x4(s), xa_o = tm_load_s8x4(s + 4);
    const int32_t xb_e = tm_load_s8x4(s + 8), xb_o = tm_load_s8x4(s + 12);
    const int32_t f0_e = tm_sxtb16(f0), f0_o = tm_sxtb16_ror8(f0);
    const int32_t f1_e = tm_sxtb16(f1), f1_o = tm_sxtb16_ror8(f1);
    *a0 = tm_smlad(xa_o, f0_o, tm_smlad(xa_e, f0_e, *a0));
    *a1 = tm_smlad(xa_o, f1_o, tm_smlad(xa_e, f1_e, *a1));
    *b0 = tm_smlad(xb_o, f0_o, tm_smlad(xb_e, f0_e, *b0));
    *b1 = tm_smlad(xb_o, f1_o, tm_smlad(xb_e, f1_e, *b1));
}

/* Accumulators of `n` channel pairs from the one at w (filter rows w, w + C_in; then the next
 * two rows ...; biases at bias) over the pixel pair in scratch: acc[4j .. 4j+3] = A.c, B.c,
 * A.c+1, B.c+1 of pair j. `clean`: scratch aligned and C_in a multiple of 8 (no tail, no odd
 * step). */
PW_INLINE void pw_acc(const pw_layer_t *L, const int8_t *w, const int32_t *bias, int32_t *acc, int32_t n, int clean)
{
    const int32_t in_c = L->in_c;
    const size_t row_pair = 2 * (size_t)in_c;
    for (; n > 0; --n, bias += 2, acc += 4, w += row_pair) {
        int32_t a0 = bias[0], a1 = bias[1];
        int32_t b0 = a0, b1 = a1;
        const int8_t *s = L->scratch, *f_row = w;
#if TINYML_HAVE_DSP && defined(__GNUC__)
        if (clean || L->aligned) {
            int32_t xa, xb, xa2, xb2, f, f2;
            if (!clean && L->odd_group) {
                __asm__(PW_STEP_2X2 PW_OPERANDS_2X2 : [len] "r"(in_c) : "memory");
            }
            const int8_t *const end = L->scratch + L->groups_bytes;
            if (clean || s != end) {
                __asm__("1:\n\t" PW_STEP_2X2 PW_STEP_2X2
                        "cmp    %[s], %[end]\n\t"
                        "bne    1b\n\t" PW_OPERANDS_2X2
                        : [len] "r"(in_c), [end] "r"(end)
                        : "cc", "memory");
            }
        } else /* an unaligned scratch (the memory planner's are aligned): the portable loop */
#endif
        for (int32_t g = in_c >> 2; g > 0; --g) {
            const int32_t f0 = tm_load_s8x4(f_row), f1 = tm_load_s8x4(f_row + in_c);
            s += 16;
            f_row += 4;
            pw_dot4_2x2(s - 16, f0, f1, &a0, &a1, &b0, &b1); /* pixels A, B against rows c, c + 1 */
        }
        if (!clean) {
            /* the C_in % 4 tails: A's at s (after the groups), B's after it; the rows' at f_row */
            const int32_t tail = L->tail;
            for (int32_t k = 0; k < tail; ++k) {
                tm_dot1_2x2(s[k], s[tail + k], f_row[k], f_row[in_c + k], &a0, &a1, &b0, &b1);
            }
        }
        acc[0] = a0;
        acc[1] = b0;
        acc[2] = a1;
        acc[3] = b1;
    }
}

/* Two builds, one picked per call: the inner loop takes every register, and a call keeps the
 * channel loop around it simple. */
#if TINYML_HAVE_DSP && defined(__GNUC__)
/* The channel-pair loop of the int8 and int16 builds in assembly: per pair the accumulators
 * from the bias, four STEPs an iteration over the scratch (ENTER may jump to the second half),
 * NEXT (the filter pointer to the next pair), the four accumulators stored. Its state (bias,
 * acc, n, the scratch start) lives in memory operands (stack slots). n >= 1. */
#define PW_CHANNEL_LOOP(STEP, ENTER, NEXT)                                   \
    "0:\n\t"                                                                 \
    "ldr    %[f], %[bias]\n\t"                                               \
    "ldrd   %[a0], %[a1], [%[f]], #8\n\t"                                    \
    "str    %[f], %[bias]\n\t"                                               \
    "mov    %[b0], %[a0]\n\t"                                                \
    "mov    %[b1], %[a1]\n\t"                                                \
    "ldr    %[s], %[scratch]\n\t" ENTER                                      \
    "1:\n\t" STEP STEP                                                       \
    "2:\n\t" STEP STEP                                                       \
    "cmp    %[s], %[end]\n\t"                                                \
    "bne    1b\n\t" NEXT                                                     \
    "ldr    %[f], %[acc]\n\t"                                                \
    "strd   %[a0], %[b0], [%[f]], #8\n\t"                                    \
    "strd   %[a1], %[b1], [%[f]], #8\n\t"                                    \
    "str    %[f], %[acc]\n\t"                                                \
    "ldr    %[f], %[n]\n\t"                                                  \
    "subs   %[f], %[f], #1\n\t"                                              \
    "str    %[f], %[n]\n\t"                                                  \
    "bne    0b\n\t"
#endif

typedef void (*pw_acc_fn)(const pw_layer_t *L, const int8_t *w, const int32_t *bias, int32_t *acc, int32_t n);
PW_NOINLINE void pw_acc_clean(const pw_layer_t *L, const int8_t *w, const int32_t *bias, int32_t *acc, int32_t n)
{
#if TINYML_HAVE_DSP && defined(__GNUC__)
    /* The channel loop too in assembly: its state (bias, acc, n, the scratch start) lives in
     * memory operands (stack slots), the filter rows in a register (the pair after rows
     * w, w + C_in starts where the inner loop leaves w, plus C_in). 16 instructions a pair
     * around the inner loop. n >= 1. */
    const int8_t *const scratch = L->scratch, *const end = scratch + L->groups_bytes;
    const int32_t in_c = L->in_c;
    const int8_t *f_row = w, *s;
    int32_t a0, a1, b0, b1, xa, xb, xa2, xb2, f, f2;
#define PW_ACC_BLOCK(ENTER)                                                  \
    __asm__(PW_CHANNEL_LOOP(PW_STEP_2X2, ENTER, "add    %[w], %[w], %[len]\n\t")  \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [s] "=&r"(s),         \
              [w] "+r"(f_row), [xa] "=&r"(xa), [xb] "=&r"(xb), [xa2] "=&r"(xa2), [xb2] "=&r"(xb2), \
              [f] "=&r"(f), [f2] "=&r"(f2), [bias] "+m"(bias), [acc] "+m"(acc), [n] "+m"(n)      \
            : [len] "r"(in_c), [end] "r"(end), [scratch] "m"(scratch)                           \
            : "cc", "memory")
    /* four steps an iteration; C_in / 4 even but not a multiple of 4: enter at the second half */
    if (in_c & 8) {
        PW_ACC_BLOCK("b      2f\n\t");
    } else {
        PW_ACC_BLOCK("");
    }
#undef PW_ACC_BLOCK
#else
    pw_acc(L, w, bias, acc, n, 1);
#endif
}
/* TINYML_PW_CLEAN_ONLY (tinyml sets it when every layer of the network on this kernel has
 * C_in % 8 == 0, codegen/build.py) leaves this one out; a layer that would have needed it
 * runs pixel by pixel (pw_one_pixel), exact but slower. */
#if !defined(TINYML_PW_CLEAN_ONLY)
PW_NOINLINE void pw_acc_any(const pw_layer_t *L, const int8_t *w, const int32_t *bias, int32_t *acc, int32_t n)
{
    pw_acc(L, w, bias, acc, n, 0);
}
#endif

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* The output stage of one channel pair on the DSP path (the C below is the same arithmetic;
 * the fragments and their operands are dsp_matmul.h's): per channel its multiplier m and
 * r = ~shift, h = (oo << r) >> 1; per output the accumulator x is requantized
 * (TM_RQ_ASM_DOUBLE / TM_RQ_ASM_SINGLE), saturated to int8 and inserted into
 * v = A.c | A.c+1 << 8 | B.c << 16 | B.c+1 << 24, which is clamped per byte and stored as two
 * halfwords. 13 registers. */
#define PW_OUT_PAIR(RQ) PW_OUT_PAIR_FROM(RQ, TM_RQ_ASM_LOAD)
/* The channel's m, h and r from the int16 build's table at [mp] (post-incremented): LDRD, LDR. */
#define PW_RQ_TABLE_LOAD                                                     \
    "ldrd   %[m], %[h], [%[mp]], #12\n\t"                                    \
    "ldr    %[r], [%[mp], #-4]\n\t"
#define PW_OUT_PAIR_FROM(RQ, LOAD)                                           \
    LOAD                                                                     \
    "ldr    %[x], [%[p]], #16\n\t" /* A.c */                                 \
    RQ("%[v]")                                                               \
    "ldr    %[x], [%[p], #-12]\n\t" /* B.c */                                \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #16, #8\n\t"                                         \
    LOAD                                                                     \
    "ldr    %[x], [%[p], #-8]\n\t" /* A.c+1 */                               \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #8, #8\n\t"                                          \
    "ldr    %[x], [%[p], #-4]\n\t" /* B.c+1 */                               \
    RQ("%[x]")                                                               \
    "bfi    %[v], %[x], #24, #8\n\t"                                         \
    TM_RQ_ASM_CLAMP4                                                         \
    "strh   %[v], [%[oa]], #2\n\t"                                           \
    "lsr    %[v], %[v], #16\n\t"                                             \
    "strh   %[v], [%[ob]], #2\n\t"
#define PW_OUT_OPERANDS                                                                         \
    : [p] "+r"(acc), [mp] "+r"(mult), [shp] "+r"(shift), [oa] "+r"(out_a), [ob] "+r"(out_b),     \
      [m] "=&r"(m), [r] "=&r"(r), [h] "=&r"(h), [x] "=&r"(x), [lo] "=&r"(lo), [hi] "=&r"(hi),   \
      [v] "=&r"(v)                                                                              \
    : [oo] "r"(oo), [min4] "m"(min4), [max4] "m"(max4)                                          \
    : "cc", "memory"
#endif

/* Requantize, clamp and store `n` channel pairs of accumulators (acc as pw_acc writes them) for
 * channels c, c + 1, ...: pixel A's outputs to out_a, B's to out_a + C_out.
 * mode 1: fast double, 2: fast single (every channel in the fast range); 3, 4: the same with
 * each channel's m, h, r read from the int16 build's table (L->rq) instead of computed. */
PW_INLINE void pw_out(const pw_layer_t *L, const int32_t *acc, int32_t c, int32_t n, int8_t *out_a, int mode)
{
    int8_t *out_b = out_a + L->out_c;
    const int32_t *mult = mode >= 3 ? L->rq + 3 * c : L->multiplier + c, *shift = L->shift + c;
    const int32_t oo = L->out.oo, min4 = L->out.min4, max4 = L->out.max4;
    out_a += c;
    out_b += c;
    for (const int32_t *const end = acc + 4 * n; acc != end;) {
#if TINYML_HAVE_DSP && defined(__GNUC__)
        int32_t m, r, h, x, lo, hi, v;
        if (mode == 4) {
            __asm__(PW_OUT_PAIR_FROM(TM_RQ_ASM_SINGLE, PW_RQ_TABLE_LOAD) PW_OUT_OPERANDS);
        } else if (mode == 3) {
            __asm__(PW_OUT_PAIR_FROM(TM_RQ_ASM_DOUBLE, PW_RQ_TABLE_LOAD) PW_OUT_OPERANDS);
        } else if (mode == 2) {
            __asm__(PW_OUT_PAIR(TM_RQ_ASM_SINGLE) PW_OUT_OPERANDS);
        } else {
            __asm__(PW_OUT_PAIR(TM_RQ_ASM_DOUBLE) PW_OUT_OPERANDS);
        }
        (void)lo;
        (void)oo;
#else
        int32_t m0, m1, r0, r1, h0, h1;
        if (mode >= 3) {
            m0 = mult[0], h0 = mult[1], r0 = mult[2];
            m1 = mult[3], h1 = mult[4], r1 = mult[5];
            mult += 4; /* with the += 2 below: one table entry (3 words) per channel */
        } else {
            m0 = mult[0], m1 = mult[1];
            r0 = tm_rq_fast_r(shift[0]), r1 = tm_rq_fast_r(shift[1]);
            h0 = tm_rq_fast_h_oo(oo, r0), h1 = tm_rq_fast_h_oo(oo, r1);
        }
        int32_t a0, b0, a1, b1;
        if (mode == 2 || mode == 4) {
            a0 = tm_rq_fast_single(acc[0], m0, h0, r0);
            b0 = tm_rq_fast_single(acc[1], m0, h0, r0);
            a1 = tm_rq_fast_single(acc[2], m1, h1, r1);
            b1 = tm_rq_fast_single(acc[3], m1, h1, r1);
        } else {
            a0 = tm_rq_fast_double(acc[0], m0, h0, r0);
            b0 = tm_rq_fast_double(acc[1], m0, h0, r0);
            a1 = tm_rq_fast_double(acc[2], m1, h1, r1);
            b1 = tm_rq_fast_double(acc[3], m1, h1, r1);
        }
        int32_t v = tm_pack_s8x4(tm_ssat8(a0), tm_ssat8(a1), tm_ssat8(b0), tm_ssat8(b1));
        v = tm_max_s8x4(tm_min_s8x4(v, max4), min4);
        tm_store_s8x2(out_a, v);
        tm_store_s8x2(out_b, (int32_t)((uint32_t)v >> 16));
        acc += 4;
        mult += 2;
        shift += 2;
        out_a += 2;
        out_b += 2;
#endif
    }
}

/* Every channel pair of the pixel pair in scratch: blocks of PW_BLOCK pairs accumulated, then
 * requantized together. */
#define PW_BLOCK 16
PW_INLINE void pw_pairs(const pw_layer_t *L, pw_acc_fn accumulate, int8_t *out_a, int mode)
{
    int32_t acc[4 * PW_BLOCK];
    const int32_t pairs = L->out_c >> 1;
    const int8_t *w = L->filter;
    const size_t block_rows = (size_t)(2 * PW_BLOCK) * (size_t)L->row_bytes;
    for (int32_t j = 0; j < pairs; j += PW_BLOCK, w += block_rows) {
        const int32_t n = pairs - j < PW_BLOCK ? pairs - j : PW_BLOCK;
        accumulate(L, w, L->bias + 2 * j, acc, n);
        pw_out(L, acc, 2 * j, n, out_a, mode);
    }
}
PW_NOINLINE void pw_pairs_double(const pw_layer_t *L, pw_acc_fn accumulate, int8_t *out_a)
{
    pw_pairs(L, accumulate, out_a, 1);
}
PW_NOINLINE void pw_pairs_single(const pw_layer_t *L, pw_acc_fn accumulate, int8_t *out_a)
{
    pw_pairs(L, accumulate, out_a, 2);
}
PW_NOINLINE void pw_pairs_double_rq(const pw_layer_t *L, pw_acc_fn accumulate, int8_t *out_a)
{
    pw_pairs(L, accumulate, out_a, 3);
}
PW_NOINLINE void pw_pairs_single_rq(const pw_layer_t *L, pw_acc_fn accumulate, int8_t *out_a)
{
    pw_pairs(L, accumulate, out_a, 4);
}

/* 2 pixels x 1 channel (the last channel of an odd C_out): acc A, B. */
static void pw_tile_2x1(const pw_layer_t *L, const int8_t *w, int32_t acc[2])
{
    const int8_t *s = L->scratch;
    int32_t a = acc[0], b = acc[1];
    for (int32_t g = L->in_c >> 2; g > 0; --g) {
        const int32_t xa_e = tm_load_s8x4(s), xa_o = tm_load_s8x4(s + 4);
        const int32_t xb_e = tm_load_s8x4(s + 8), xb_o = tm_load_s8x4(s + 12);
        const int32_t f = tm_load_s8x4(w);
        s += 16;
        w += 4;
        const int32_t f_e = tm_sxtb16(f), f_o = tm_sxtb16_ror8(f);
        a = tm_smlad(xa_o, f_o, tm_smlad(xa_e, f_e, a));
        b = tm_smlad(xb_o, f_o, tm_smlad(xb_e, f_e, b));
    }
    const int32_t tail = L->tail;
    for (int32_t k = 0; k < tail; ++k) {
        a += s[k] * w[k];
        b += s[tail + k] * w[k];
    }
    acc[0] = a;
    acc[1] = b;
}

/* One pixel's word of four int8 values x0..x3 widened to its even and odd int16 pairs at s:
 * (x0, x2), then (x1, x3). */
static inline void pw_widen_word(int8_t *s, int32_t w)
{
    tm_store_s8x4(s, tm_sxtb16(w));
    tm_store_s8x4(s + 4, tm_sxtb16_ror8(w));
}

/* Pixels a and b (in_c bytes each) into s in the widened scratch layout (see the top). */
static void pw_copy_pair(int8_t *s, const int8_t *a, const int8_t *b, int32_t in_c)
{
    for (int32_t g = in_c >> 2; g > 0; --g) {
        const int32_t wa = tm_load_s8x4(a), wb = tm_load_s8x4(b);
        a += 4;
        b += 4;
        pw_widen_word(s, wa);
        pw_widen_word(s + 8, wb);
        s += 16;
    }
    const int32_t tail = in_c & 3;
    for (int32_t k = 0; k < tail; ++k) {
        s[k] = a[k];
        s[tail + k] = b[k];
    }
}

/* One pixel (all C_out outputs), any requantization: copied into scratch first (the overlap
 * rule), then 1 x 2 channel tiles. */
static void pw_one_pixel(const pw_layer_t *L, const int8_t *in_a, int8_t *out_a, int8_t *scratch)
{
    const int32_t in_c = L->in_c, out_c = L->out_c;
    for (int32_t k = 0; k < in_c; ++k) {
        scratch[k] = in_a[k];
    }
    const int8_t *w = L->filter;
    int32_t c = 0;
    for (; c + 2 <= out_c; c += 2, w += 2 * (size_t)in_c) {
        int32_t acc[2] = {L->bias[c], L->bias[c + 1]};
        tm_dot_s8_1x2(scratch, w, w + in_c, in_c, acc); /* 1 pixel x 2 channels */
        out_a[c] = (int8_t)pw_out_one(L, acc[0], c);
        out_a[c + 1] = (int8_t)pw_out_one(L, acc[1], c + 1);
    }
    if (c < out_c) {
        out_a[c] = (int8_t)pw_out_one(L, tm_dot_s8(scratch, w, in_c, L->bias[c]), c);
    }
}

/* The layer as the tiles read it; filter rows of row_bytes bytes. */
static void pw_layer_init(pw_layer_t *L, const tinyml_conv2d_params_t *p, int32_t in_c, const int8_t *filter,
                          int32_t row_bytes, const int32_t *folded_bias, int8_t *scratch)
{
    const int32_t out_c = p->output.c;
    L->scratch = scratch;
    L->bias = folded_bias;
    L->multiplier = p->quant.multiplier;
    L->shift = p->quant.shift;
    L->in_c = in_c;
    L->out_c = out_c;
    L->row_bytes = row_bytes;
    tm_rq_out_init(&L->out, p->output_offset, p->activation, TM_ROUNDING(p->rounding));
    L->groups_bytes = 16 * (in_c >> 2);
    L->odd_group = (in_c >> 2) & 1;
    L->tail = in_c & 3;
    L->fast = tm_rq_fast_all(L->multiplier, L->shift, out_c, L->out.offset);
    L->aligned = ((uintptr_t)scratch & 3u) == 0;
    L->filter = filter;
    L->rq = NULL;
}

void tinyml_conv2d_1x1_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                               const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    pw_layer_t L;
    pw_layer_init(&L, p, in_c, filter, in_c, folded_bias, scratch);
    const int clean = L.aligned && (in_c & 7) == 0 && in_c > 0;
#if defined(TINYML_PW_CLEAN_ONLY)
    const pw_acc_fn accumulate = pw_acc_clean;
    const int pairs_ok = L.fast && clean;
#else
    const pw_acc_fn accumulate = clean ? pw_acc_clean : pw_acc_any;
    const int pairs_ok = L.fast;
#endif
    void (*const pairs)(const pw_layer_t *, pw_acc_fn, int8_t *) =
        TM_ROUNDING(L.out.rounding) == TINYML_ROUND_SINGLE ? pw_pairs_single : pw_pairs_double;

    int32_t i = 0;
    /* pixel pairs when every channel is in the fast range; else (rare once the compiler has
     * folded constant channels) every pixel alone, exact */
    for (; pairs_ok && i + 2 <= pixels; i += 2) {
        const int8_t *in_a = input + (size_t)i * in_c;
        int8_t *out_a = output + (size_t)i * out_c;
        pw_copy_pair(scratch, in_a, in_a + in_c, in_c);
        pairs(&L, accumulate, out_a);
        if (out_c & 1) {
            const int32_t c = out_c - 1;
            const int8_t *w = filter + (size_t)c * in_c;
            int32_t acc[2] = {folded_bias[c], folded_bias[c]};
            pw_tile_2x1(&L, w, acc);
            out_a[c] = (int8_t)pw_out_one(&L, acc[0], c);
            out_a[out_c + c] = (int8_t)pw_out_one(&L, acc[1], c);
        }
    }
    for (; i < pixels; ++i) {
        pw_one_pixel(&L, input + (size_t)i * in_c, output + (size_t)i * out_c, scratch);
    }
}

/* ---- int16 weights: tinyml_conv2d_1x1_s8_fast_w16 ---------------------------
 * The filter was widened at compile time into the order the tile reads it: per channel
 * pair and group of four input channels, row c's even pair (w0, w2) and odd pair (w1, w3),
 * then row c + 1's (16 bytes; kernels.h). A step no longer splits filter words: 2 LDRD of
 * the pixels, 2 LDRD of the weights and 8 SMLAD, 12 instructions for 16 MACs instead of 16.
 * C_in is a multiple of 8 (two steps an iteration, no tail) and C_out even (no odd channel):
 * the compiler picks this variant only then. The output stage reads each channel's m, h and r
 * from a table made at compile time (LDRD + LDR instead of 2 LDR, MVN, LSL, ASR). The pixel
 * pairs and overlap rule are the int8 kernel's; an odd last pixel and a layer outside the fast requantization go
 * through the pair loop with each output requantized by pw_out_one (pw16_one_pixel, pw16_pair_any). */

#if TINYML_HAVE_DSP && defined(__GNUC__)
/* One step: pixels A, B (s: A even, A odd, B even, B odd int16 pairs) against rows c, c + 1
 * (w: c even, c odd, c + 1 even, c + 1 odd). 13 registers with the loop bound. */
#define PW16_STEP_2X2                                                        \
    "ldrd   %[xb2], %[xb], [%[s], #8]\n\t"                                   \
    "ldrd   %[xa2], %[xa], [%[s]], #16\n\t"                                  \
    "ldrd   %[f2], %[f], [%[w]], #8\n\t" /* row c */                        \
    "smlad  %[a0], %[xa2], %[f2], %[a0]\n\t"                                 \
    "smlad  %[b0], %[xb2], %[f2], %[b0]\n\t"                                 \
    "smlad  %[a0], %[xa], %[f], %[a0]\n\t"                                   \
    "smlad  %[b0], %[xb], %[f], %[b0]\n\t"                                   \
    "ldrd   %[f2], %[f], [%[w]], #8\n\t" /* row c + 1 */                    \
    "smlad  %[a1], %[xa2], %[f2], %[a1]\n\t"                                 \
    "smlad  %[b1], %[xb2], %[f2], %[b1]\n\t"                                 \
    "smlad  %[a1], %[xa], %[f], %[a1]\n\t"                                   \
    "smlad  %[b1], %[xb], %[f], %[b1]\n\t"
#endif

/* One step in C: the widened group at s against the widened weights at w (as above). */
PW_INLINE void pw16_dot4_2x2(const int8_t *s, const int8_t *w, int32_t *a0, int32_t *a1, int32_t *b0, int32_t *b1)
{
    const int32_t xa_e = tm_load_s8x4(s), xa_o = tm_load_s8x4(s + 4);
    const int32_t xb_e = tm_load_s8x4(s + 8), xb_o = tm_load_s8x4(s + 12);
    const int32_t f0_e = tm_load_s8x4(w), f0_o = tm_load_s8x4(w + 4);
    const int32_t f1_e = tm_load_s8x4(w + 8), f1_o = tm_load_s8x4(w + 12);
    *a0 = tm_smlad(xa_o, f0_o, tm_smlad(xa_e, f0_e, *a0));
    *a1 = tm_smlad(xa_o, f1_o, tm_smlad(xa_e, f1_e, *a1));
    *b0 = tm_smlad(xb_o, f0_o, tm_smlad(xb_e, f0_e, *b0));
    *b1 = tm_smlad(xb_o, f1_o, tm_smlad(xb_e, f1_e, *b1));
}

/* pw_acc for the int16 weights: acc[4j .. 4j+3] = A.c, B.c, A.c+1, B.c+1 of pair j. */
PW_NOINLINE void pw_acc_w16(const pw_layer_t *L, const int8_t *w, const int32_t *bias, int32_t *acc, int32_t n)
{
    const int8_t *const end = L->scratch + L->groups_bytes;
#if TINYML_HAVE_DSP && defined(__GNUC__)
    if (L->aligned) {
        /* The channel loop too in assembly, as pw_acc_clean: its state (bias, acc, n, the
         * scratch start) in memory operands, four steps an iteration (C_in / 4 even but not a
         * multiple of 4: entering at the second half). n >= 1. */
        const int8_t *const scratch = L->scratch, *s;
        int32_t a0, a1, b0, b1, xa, xb, xa2, xb2, f, f2;
#define PW16_ACC_BLOCK(ENTER)                                                \
    __asm__(PW_CHANNEL_LOOP(PW16_STEP_2X2, ENTER, "")                        \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1), [s] "=&r"(s), [w] "+r"(w),   \
              [xa] "=&r"(xa), [xb] "=&r"(xb), [xa2] "=&r"(xa2), [xb2] "=&r"(xb2), [f] "=&r"(f),             \
              [f2] "=&r"(f2), [bias] "+m"(bias), [acc] "+m"(acc), [n] "+m"(n)                              \
            : [end] "r"(end), [scratch] "m"(scratch)                                                      \
            : "cc", "memory")
        if (L->in_c & 8) {
            PW16_ACC_BLOCK("b      2f\n\t");
        } else {
            PW16_ACC_BLOCK("");
        }
#undef PW16_ACC_BLOCK
        return;
    }
#endif
    for (; n > 0; --n, bias += 2, acc += 4) {
        int32_t a0 = bias[0], a1 = bias[1];
        int32_t b0 = a0, b1 = a1;
        for (const int8_t *s = L->scratch; s != end; s += 16, w += 16) {
            pw16_dot4_2x2(s, w, &a0, &a1, &b0, &b1);
        }
        acc[0] = a0;
        acc[1] = b0;
        acc[2] = a1;
        acc[3] = b1;
    }
}

/* One pixel (all C_out outputs) of the int16 conv, any requantization: its widened patch in
 * scratch (pixel A's slot), then 1 pixel x 2 channel tiles over the widened weights (w: C_out / 2
 * pairs of 2 * len int16 values), one step 4 MACs of each. */
PW_NOINLINE void pw16_one_widened(const pw_layer_t *L, const int8_t *w, const int8_t *scratch, int8_t *out_a)
{
    const int8_t *const end = scratch + L->groups_bytes;
    for (int32_t c = 0; c < L->out_c; c += 2) {
        int32_t a0 = L->bias[c], a1 = L->bias[c + 1];
        for (const int8_t *s = scratch; s != end; s += 16, w += 16) {
            const int32_t x_e = tm_load_s8x4(s), x_o = tm_load_s8x4(s + 4);
            a0 = tm_smlad(x_o, tm_load_s8x4(w + 4), tm_smlad(x_e, tm_load_s8x4(w), a0));
            a1 = tm_smlad(x_o, tm_load_s8x4(w + 12), tm_smlad(x_e, tm_load_s8x4(w + 8), a1));
        }
        out_a[c] = (int8_t)pw_out_one(L, a0, c);
        out_a[c + 1] = (int8_t)pw_out_one(L, a1, c + 1);
    }
}
/* The 1x1 kernel's exact paths (pw_out_one: any requantization) through the pair loop, up to 8
 * channel pairs at a time, so neither has an inner loop of its own. pw16_one_pixel: one pixel
 * (the odd last one), widened as A and again as B, B's results dropped. pw16_pair_any: pixels A
 * and B of a layer outside the fast requantization. */
#define PW16_ONE_PAIRS 8
static void pw16_one_pixel(const pw_layer_t *L, const int8_t *in_a, int8_t *out_a, int8_t *scratch)
{
    pw_copy_pair(scratch, in_a, in_a, L->in_c); /* scratch is L->scratch */
    int32_t acc[4 * PW16_ONE_PAIRS];
    for (int32_t c = 0; c < L->out_c; c += 2 * PW16_ONE_PAIRS) {
        const int32_t n = (L->out_c - c) / 2 < PW16_ONE_PAIRS ? (L->out_c - c) / 2 : PW16_ONE_PAIRS;
        pw_acc_w16(L, L->filter + (size_t)c * 2 * (size_t)L->in_c, L->bias + c, acc, n);
        for (int32_t k = 0; k < 2 * n; ++k) { /* A's accumulators: acc[4j] and acc[4j + 2] of pair j */
            out_a[c + k] = (int8_t)pw_out_one(L, acc[2 * k], c + k);
        }
    }
}

static void pw16_pair_any(const pw_layer_t *L, const int8_t *in_a, int8_t *out_a, int8_t *scratch)
{
    pw_copy_pair(scratch, in_a, in_a + L->in_c, L->in_c);
    int8_t *const out_b = out_a + L->out_c;
    int32_t acc[4 * PW16_ONE_PAIRS];
    for (int32_t c = 0; c < L->out_c; c += 2 * PW16_ONE_PAIRS) {
        const int32_t n = (L->out_c - c) / 2 < PW16_ONE_PAIRS ? (L->out_c - c) / 2 : PW16_ONE_PAIRS;
        pw_acc_w16(L, L->filter + (size_t)c * 2 * (size_t)L->in_c, L->bias + c, acc, n);
        for (int32_t k = 0; k < 4 * n; ++k) { /* pair j: A.c, B.c, A.c+1, B.c+1 at acc[4j ..] */
            const int32_t ch = c + (k >> 1);
            (k & 1 ? out_b : out_a)[ch] = (int8_t)pw_out_one(L, acc[k], ch);
        }
    }
}

size_t tinyml_conv2d_1x1_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p)
{
    return tinyml_conv2d_1x1_s8_fast_scratch_size(p);
}

void tinyml_conv2d_1x1_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                                   const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch)
{
    const int32_t in_c = p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    pw_layer_t L;
    pw_layer_init(&L, p, in_c, (const int8_t *)(const void *)filter, 2 * in_c, folded_bias, scratch);
    L.rq = rq;
    void (*const pairs)(const pw_layer_t *, pw_acc_fn, int8_t *) =
        TM_ROUNDING(L.out.rounding) == TINYML_ROUND_SINGLE ? pw_pairs_single_rq : pw_pairs_double_rq;
    int32_t i = 0;
    for (; L.fast && i + 2 <= pixels; i += 2) {
        const int8_t *in_a = input + (size_t)i * in_c;
        pw_copy_pair(scratch, in_a, in_a + in_c, in_c);
        pairs(&L, pw_acc_w16, output + (size_t)i * out_c);
    }
    for (; i + 2 <= pixels; i += 2) {
        const int8_t *in_a = input + (size_t)i * in_c;
        int8_t *const out_a = output + (size_t)i * out_c;
        pw16_pair_any(&L, in_a, out_a, scratch);
    }
    if (i < pixels) {
        const int8_t *in_a = input + (size_t)i * in_c;
        pw16_one_pixel(&L, in_a, output + (size_t)i * out_c, scratch);
    }
}

/* ---- CONV_2D with int16 weights: tinyml_conv2d_s8_fast_w16 -------------------
 * Any kernel size, stride, dilation and padding with C_in % 4 == 0 and a patch length
 * len = KH * KW * C_in that is a multiple of 8, C_out even. A pair of output pixels has its
 * patches (in the filter's HWI order) widened straight from the image into the pointwise
 * scratch layout (w16_im2col: a tap outside the image reads the input zero point), and the
 * int16-weight pointwise machinery above runs over them with len in place of C_in: the same
 * 12-instruction steps, table-driven output stage and one-pixel path. The widened weights are
 * the OHWI filter as rows of len values (tinyengine.core.variants.widen_conv_weights). Scratch:
 * 4 * len bytes (tinyml_conv2d_s8_fast_w16_scratch_size()), 4-byte aligned for the assembly
 * (the portable loop otherwise). The output must not overlap the input. */

size_t tinyml_conv2d_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)4 * (size_t)p->filter.h * (size_t)p->filter.w * (size_t)p->input.c;
}

/* The patch whose top-left tap is (y0, x0) of `image`, widened into s (pixel A: the scratch,
 * B: scratch + 8): each tap is C_in / 4 groups of 16 bytes, of which this pixel's 8. */
static void w16_im2col(const tinyml_conv2d_params_t *p, const int8_t *image, int32_t y0, int32_t x0, int8_t *s,
                       int32_t fill)
{
    const int32_t in_c = p->input.c;
    for (int32_t ky = 0, iy = y0; ky < p->filter.h; ++ky, iy += p->dilation.h) {
        const int row_in = (uint32_t)iy < (uint32_t)p->input.h;
        for (int32_t kx = 0, ix = x0; kx < p->filter.w; ++kx, ix += p->dilation.w) {
            if (row_in && (uint32_t)ix < (uint32_t)p->input.w) {
                const int8_t *src = image + ((size_t)iy * (size_t)p->input.w + (size_t)ix) * (size_t)in_c;
                for (int32_t g = 0; g < in_c; g += 4, s += 16) {
                    pw_widen_word(s, tm_load_s8x4(src + g));
                }
            } else {
                const int32_t fe = tm_sxtb16(fill), fo = tm_sxtb16_ror8(fill);
                for (int32_t g = 0; g < in_c; g += 4, s += 16) {
                    tm_store_s8x4(s, fe);
                    tm_store_s8x4(s + 4, fo);
                }
            }
        }
    }
}

void tinyml_conv2d_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                               const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch)
{
    const int32_t len = p->filter.h * p->filter.w * p->input.c, out_c = p->output.c;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    const int32_t fill = tm_dup_s8x4(-p->input_offset);
    const size_t image_bytes = (size_t)p->input.h * (size_t)p->input.w * (size_t)p->input.c;
    pw_layer_t L;
    pw_layer_init(&L, p, len, (const int8_t *)(const void *)filter, 2 * len, folded_bias, scratch);
    L.rq = rq;
    void (*const pairs)(const pw_layer_t *, pw_acc_fn, int8_t *) =
        TM_ROUNDING(L.out.rounding) == TINYML_ROUND_SINGLE ? pw_pairs_single_rq : pw_pairs_double_rq;
    const int8_t *image = input;
    int32_t oy = 0, ox = 0;
    for (int32_t i = 0; i < pixels; ) {
        const int two = L.fast && i + 1 < pixels;
        int8_t *out = output + (size_t)i * (size_t)out_c;
        for (int32_t k = 0; k < (two ? 2 : 1); ++k) {
            w16_im2col(p, image, oy * p->stride.h - p->pad.h, ox * p->stride.w - p->pad.w, scratch + 8 * k, fill);
            if (++ox == p->output.w) {
                ox = 0;
                if (++oy == p->output.h) {
                    oy = 0;
                    image += image_bytes;
                }
            }
        }
        if (two) {
            pairs(&L, pw_acc_w16, out);
            i += 2;
        } else {
            pw16_one_widened(&L, L.filter, scratch, out);
            i += 1;
        }
    }
}

#endif /* !__ARM_FEATURE_MVE */
