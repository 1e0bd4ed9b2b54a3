/*
 * DEPTHWISE_CONV_2D, int8, per-channel requantization, out of place: the fast
 * variant of tinyml_depthwise_conv2d_s8 (bit-identical to it) for any kernel
 * size, stride, dilation, padding, batch, channel count and depth multiplier.
 * The bias is folded (kernels.h, "Fast variants"). No scratch: about 2.3 KiB of
 * stack at most (a 1.25 KiB window and a 0.5 KiB group table, below).
 *
 * Depth multiplier 1: groups of 4 channels through a window.
 *   The channels are taken 4 at a time (a group; the last one may hold 1-3).
 *   For a group, the input pixels a tile of outputs reads are sign-extended
 *   once into a window on the stack: the pixel's 4 bytes b0..b3 become the
 *   int16 pairs e = (b0, b2) and o = (b1, b3) (SXTB16, SXTB16 ROR #8), one
 *   8-byte entry, and a padded position holds the extended input zero point
 *   -input_offset, which adds 0 with the folded bias - so every output reads
 *   its taps from the window with no bounds checks and no edge path. The
 *   weights of the group are extended the same way into a table, once per call,
 *   so a tap is two LDRD (weights, input) and four 16 x 16 + 32
 *   multiply-accumulates, one per channel: SMLABB / SMLATT of e with the even
 *   weights (channels 0, 2) and of o with the odd ones (channels 1, 3).
 *   Unused lanes of a partial group have weight 0 and are not stored.
 *
 *   Window. The rows of a tile are a ring of KH_eff = (KH - 1) * DH + 1 input
 *   rows (input row r in slot r mod KH_eff), each slot stored twice (slots k and
 *   k + KH_eff), so the KH_eff rows an output row reads are always consecutive:
 *   tap (ky, kx) of the output at tile column i is at a fixed offset
 *   (ky * DH) * RS + (i * SW + kx * DW) * 2 words from the row's first slot.
 *   Going down, only the rows not yet in the ring are built (stride 1: one row
 *   per output row), four pixels a step (4 LDR, 8 SXTB16, an 8-word STM to each
 *   copy). A tile is as many output columns as fit the window's width (3 x 3:
 *   24 at stride 1, 12 at stride 2); wider layers take several equal tiles, each
 *   re-extending its KW_eff - SW halo columns. The padding columns of a tile are
 *   filled once.
 *
 *   Inner loops (the DSP ones are inline assembly; the portable build, and
 *   dilation across, take the same window and table in C):
 *   - 3 x 3, dilation 1, stride 1 or 2 across, full group, fast requantization:
 *     two adjacent outputs a step, all offsets immediates (RS is a constant
 *     there). The weights are loaded once for both outputs and the outputs share
 *     window columns (stride 1: B's tap kx is A's tap kx + 1), so the 72 MACs
 *     take 21 (stride 2: 24) LDRD and 72 multiply-accumulates; then 8
 *     requantizations, packing, clamping and two word stores. An odd last
 *     output of a row takes a one-output version.
 *   - any other kernel with dilation 1 across (full group, fast mode): one
 *     output at a time, the taps in a row loop (8 instructions a tap), the same
 *     requantization.
 *   - otherwise: one output at a time in C.
 *
 * Requantization. When every channel of the group has a shift in [-24, -1]
 * (e = -shift) and a folded bias small enough that |acc| < 2^30 for any input
 * (|folded_bias| + 128 * 128 * KH * KW < 2^30), the table holds doubled
 * weights and bias, so the kernel accumulates 2 * acc exactly, and with
 * h = (2 * output_offset + 1) * 2^(e-1):
 *   TINYML_ROUND_SINGLE: tm_mbqm(acc) + offset = SMMLA(2acc, m, h) >> e.
 *     The reference is floor((acc*m + 2^(30+e)) / 2^(31+e)); adding the offset
 *     times 2^(31+e) and doubling numerator and denominator gives
 *     floor((2acc*m + h * 2^32) / 2^(32+e)), and floors nest.
 *   TINYML_ROUND_DOUBLE: tm_mbqm(acc) + offset = SMMLAR(2acc, m, h - [acc < 0]) >> e.
 *     tm_srdhm is y = floor((acc*m + 2^30) / 2^31) (its nudge and truncation
 *     round ties up) and tm_rdbpot(y, e) = floor((y + 2^(e-1) - [y < 0]) / 2^e);
 *     the sign term matters only at a tie, where y != 0 and so [y < 0] ==
 *     [acc < 0] (m >= 0). Nesting the floors, result + offset =
 *     floor(N / 2^(31+e)), N = acc*m + 2^30 + (2^(e-1) + offset * 2^e - [acc < 0]) * 2^31;
 *     2N = 2acc*m + (h - [acc < 0]) * 2^32 + 2^31, which SMMLAR divides by 2^32.
 *   Then SSAT #8, four results packed into a word (BFI), and the activation
 *   clamp on the packed bytes (SSUB8 + SEL), skipped when the activation is the
 *   full int8 range (what a fused ReLU / ReLU6 usually leaves). Otherwise
 *   (shifts >= 0 or < -24, huge biases) the group accumulates acc itself
 *   (wrapping, as the reference) and requantizes with tm_mbqm.
 *
 * Depth multiplier > 1, or a kernel the window or table cannot hold (more than
 * 49 taps, or KW_eff wider than the window): a plain exact loop (the
 * reference's, padded taps reading the zero point).
 */
#include <stddef.h>

#include "tinyml/kernels.h"
#include "tinyml/simd.h"

#define DW_WINDOW_WORDS 320 /* the window (1.25 KiB): 2 * KH_eff rows of RS words */
#define DW_MAX_TAPS 49      /* KH * KW that the weight table holds */
#define DW_RS3 52           /* RS of the 3 x 3 kernel: (DW_WINDOW_WORDS / 6) rounded down to even */
#define DW_FAST_SHIFT_MIN (-24)
#define DW_FAST_SHIFT_MAX (-1)

enum { DW_EXACT = 0, DW_DOUBLE = 1, DW_SINGLE = 2 };

#if defined(__GNUC__)
#define DW_NOINLINE __attribute__((noinline)) /* keeps register allocation local to the asm */
#else
#define DW_NOINLINE
#endif

/* One group's constants. The assembly reads the fields at fixed byte offsets (checked below
 * for 32-bit targets): bias 0, mh 16, e 48, act 64, out 72, out_step 76, end 80, k_rows 84, k_adv 88,
 * w 104 (DW_W). */
typedef struct {
    int32_t bias[4];  /* the folded bias, doubled in the fast modes */
    int32_t mh[4][2]; /* multiplier, h (fast modes) */
    int32_t e[4];     /* -shift (fast modes) or the shift (exact) */
    int32_t act[2];   /* activation min / max in all four bytes; min > max: the full range (no clamp) */
    int8_t *out;      /* the assembly's output pointer */
    int32_t out_step; /* bytes from one output pixel to the next */
    const int32_t *end;
    int32_t k_rows;   /* the generic assembly: (KH - 1) * 2^16 + KW */
    int32_t k_adv;    /* and the bytes from a kernel row's last tap to the next row's first */
    int32_t mode, lanes, pad_;
    int32_t w[DW_MAX_TAPS][2]; /* per tap: even and odd int16 weight pairs (doubled in the fast modes) */
} dw_group_t;

#if TINYML_HAVE_DSP && defined(__GNUC__) && defined(__OPTIMIZE__) /* 14-register asm: not at -O0 */
#define DW_ASM 1
#define DW_W 104 /* offsetof(dw_group_t, w) */
/* the offsets the assembly uses */
typedef char dw_check_layout[(offsetof(dw_group_t, mh) == 16 && offsetof(dw_group_t, e) == 48 &&
                              offsetof(dw_group_t, act) == 64 && offsetof(dw_group_t, out) == 72 &&
                              offsetof(dw_group_t, out_step) == 76 && offsetof(dw_group_t, end) == 80 &&
                              offsetof(dw_group_t, k_rows) == 84 && offsetof(dw_group_t, k_adv) == 88 &&
                              offsetof(dw_group_t, w) == DW_W)
                                 ? 1
                                 : -1];
#else
#define DW_ASM 0
#endif

static inline int32_t dw_bytes4(int32_t v) { return (int32_t)((uint32_t)(uint8_t)(int8_t)v * 0x01010101u); }

/* The group's `lanes` (1-4) bytes at p as a word, missing lanes 0. */
static inline int32_t dw_load(const int8_t *p, int32_t lanes)
{
    if (lanes == 4) {
        return tm_load_s8x4(p);
    }
    uint32_t w = 0;
    for (int32_t i = 0; i < lanes; ++i) {
        w |= (uint32_t)(uint8_t)p[i] << (8 * i);
    }
    return (int32_t)w;
}

/* ---- the group table ------------------------------------------------------ */

static void DW_NOINLINE dw_group_setup(dw_group_t *g, const tinyml_depthwise_conv2d_params_t *p, const int8_t *filter,
                                       const int32_t *folded_bias, int32_t c0, int32_t lanes)
{
    const int32_t taps = p->filter.h * p->filter.w, ch = p->output.c, off = p->output_offset;
    const int32_t limit = ((int32_t)1 << 30) - 1 - 16384 * taps;
    const int32_t *const m = p->quant.multiplier + c0, *const sh = p->quant.shift + c0, *const fb = folded_bias + c0;
    /* the fast modes: every lane's multiplier >= 0, shift in range, |folded bias| <= limit */
    uint32_t bad = (uint32_t)off + 128u > 255u;
    for (int32_t c = 0; c < lanes; ++c) {
        bad |= ((uint32_t)m[c] >> 31) |
               ((uint32_t)sh[c] - (uint32_t)DW_FAST_SHIFT_MIN > (uint32_t)(DW_FAST_SHIFT_MAX - DW_FAST_SHIFT_MIN)) |
               ((uint32_t)fb[c] + (uint32_t)limit > 2u * (uint32_t)limit);
    }
    const int fast = !bad;
    g->mode = !fast ? DW_EXACT : (TM_ROUNDING(p->rounding) == TINYML_ROUND_DOUBLE ? DW_DOUBLE : DW_SINGLE);
    g->lanes = lanes;
    const uint32_t h0 = (uint32_t)(2 * off + 1);
    if (fast && lanes == 4) {
        for (int32_t c = 0; c < 4; ++c) {
            const int32_t e = -sh[c];
            g->bias[c] = 2 * fb[c];
            g->mh[c][0] = m[c];
            g->mh[c][1] = (int32_t)(h0 << (e - 1));
            g->e[c] = e;
        }
    } else {
        for (int32_t c = 0; c < 4; ++c) {
            const int in = c < lanes;
            const int32_t s = in ? sh[c] : (fast ? -1 : 0);
            g->bias[c] = in ? (fast ? 2 * fb[c] : fb[c]) : 0;
            g->mh[c][0] = in ? m[c] : 0;
            g->mh[c][1] = fast ? (int32_t)(h0 << (-s - 1)) : 0;
            g->e[c] = fast ? -s : s;
        }
    }
    const int full = p->activation.min <= -128 && p->activation.max >= 127;
    g->act[0] = full ? 0x7f7f7f7f : dw_bytes4(p->activation.min);
    g->act[1] = full ? (int32_t)0x80808080u : dw_bytes4(p->activation.max);
    const int8_t *f = filter + c0;
    int32_t *w = &g->w[0][0];
    if (lanes == 4 && fast) {
        for (int32_t t = 0; t < taps; ++t, f += ch, w += 2) {
            const int32_t v = tm_load_s8x4(f), we = tm_sxtb16(v), wo = tm_sxtb16_ror8(v);
            w[0] = tm_sadd16(we, we);
            w[1] = tm_sadd16(wo, wo);
        }
    } else {
        for (int32_t t = 0; t < taps; ++t, f += ch, w += 2) {
            const int32_t v = dw_load(f, lanes);
            int32_t we = tm_sxtb16(v), wo = tm_sxtb16_ror8(v);
            if (fast) {
                we = tm_sadd16(we, we);
                wo = tm_sadd16(wo, wo);
            }
            w[0] = we;
            w[1] = wo;
        }
    }
}

/* ---- requantization of one pixel's group ----------------------------------- */

/* The four accumulators requantized, clamped and stored (the group's lanes only). */
static inline void dw_store(const dw_group_t *g, const tinyml_depthwise_conv2d_params_t *p, const int32_t acc[4],
                            int8_t *out)
{
    int32_t v[4];
    if (g->mode == DW_DOUBLE) {
        for (int32_t c = 0; c < 4; ++c) {
            v[c] = tm_ssat8(tm_smmlar(acc[c], g->mh[c][0], g->mh[c][1] + (acc[c] >> 31)) >> g->e[c]);
        }
    } else if (g->mode == DW_SINGLE) {
        for (int32_t c = 0; c < 4; ++c) {
            v[c] = tm_ssat8(tm_smmla(acc[c], g->mh[c][0], g->mh[c][1]) >> g->e[c]);
        }
    } else {
        for (int32_t c = 0; c < 4; ++c) {
            v[c] = tm_ssat8(tm_wadd(tm_mbqm(acc[c], g->mh[c][0], g->e[c], TM_ROUNDING(p->rounding)), p->output_offset));
        }
    }
    int32_t w = tm_pack_s8x4(v[0], v[1], v[2], v[3]);
    if (g->act[0] <= g->act[1]) {
        w = tm_min_s8x4(tm_max_s8x4(w, g->act[0]), g->act[1]);
    }
    if (g->lanes == 4) {
        tm_store_s8x4(out, w);
    } else {
        for (int32_t c = 0; c < g->lanes; ++c) {
            out[c] = (int8_t)((uint32_t)w >> (8 * c));
        }
    }
}

/* ---- one output at a time --------------------------------------------------- */

/* acc += the taps of the output whose tap (0, 0) is at `x` in the window: rows rs words
 * apart, taps of a row step words apart. */
static inline void dw_taps(const int32_t *x, const int32_t *w, int32_t kh, int32_t kw, int32_t rs, int32_t step,
                           int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
#if DW_ASM
    if (step == 2) {
        /* 8 instructions a tap: LDRD the weights, LDRD the input, 4 multiply-accumulates, loop.
         * rows holds (rows left - 1) * 2^16 + kw. */
        const int32_t row_advance = 4 * (rs - 2 * kw); /* bytes from a row's end to the next row */
        int32_t rows = (int32_t)((uint32_t)(kh - 1) << 16) + kw, kx, t0, t1, t2, t3;
        __asm__ volatile("2:\n\t"
                         "uxth   %[kx], %[rows]\n\t"
                         "1:\n\t"
                         "ldrd   %[t0], %[t1], [%[w]], #8\n\t"
                         "ldrd   %[t2], %[t3], [%[x]], #8\n\t"
                         "smlabb %[a0], %[t2], %[t0], %[a0]\n\t"
                         "smlatt %[a2], %[t2], %[t0], %[a2]\n\t"
                         "smlabb %[a1], %[t3], %[t1], %[a1]\n\t"
                         "smlatt %[a3], %[t3], %[t1], %[a3]\n\t"
                         "subs   %[kx], %[kx], #1\n\t"
                         "bne    1b\n\t"
                         "add    %[x], %[x], %[adv]\n\t"
                         "subs   %[rows], %[rows], #65536\n\t"
                         "bcs    2b\n\t"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w] "+r"(w), [x] "+r"(x),
                           [rows] "+r"(rows), [kx] "=&r"(kx), [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2),
                           [t3] "=&r"(t3)
                         : [adv] "r"(row_advance)
                         : "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        return;
    }
#endif
    for (int32_t ky = 0; ky < kh; ++ky, x += rs) {
        const int32_t *q = x;
        for (int32_t kx = 0; kx < kw; ++kx, q += step, w += 2) {
            const int32_t e = q[0], o = q[1], we = w[0], wo = w[1];
            a0 = tm_smlabb(e, we, a0);
            a2 = tm_smlatt(e, we, a2);
            a1 = tm_smlabb(o, wo, a1);
            a3 = tm_smlatt(o, wo, a3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static void DW_NOINLINE dw_pixels(const dw_group_t *g, const tinyml_depthwise_conv2d_params_t *p, const int32_t *x,
                                  int32_t count, int32_t x_step, int32_t rs, int8_t *out)
{
    const int32_t kh = p->filter.h, kw = p->filter.w, row = p->dilation.h * rs, step = 2 * p->dilation.w;
    const int32_t out_step = p->output.c;
    for (int32_t i = 0; i < count; ++i, x += x_step, out += out_step) {
        int32_t acc[4] = {g->bias[0], g->bias[1], g->bias[2], g->bias[3]};
        dw_taps(x, &g->w[0][0], kh, kw, row, step, acc);
        dw_store(g, p, acc, out);
    }
}

/* ---- 3 x 3, two outputs a step (DSP) ------------------------------------------ */

#if DW_ASM
#define DW_STR(x) #x
#define DW_XSTR(x) DW_STR(x)
#define DW_RSB (DW_RS3 * 4) /* window row stride in bytes */

/* Loads of a weight pair (T + W), of an input pair (p + X), of an input pair moving p on by I
 * bytes, and the four multiply-accumulates of output A / B with them. */
#define DW_LW(W) "ldrd   %[t0], %[t1], [%[T], #" DW_XSTR(W) "]\n\t"
#define DW_LX(X) "ldrd   %[t2], %[t3], [%[p], #" DW_XSTR(X) "]\n\t"
#define DW_LXP(I) "ldrd   %[t2], %[t3], [%[p]], #" DW_XSTR(I) "\n\t"
#define DW_MA                                                                                       \
    "smlabb %[a0], %[t2], %[t0], %[a0]\n\t"                                                        \
    "smlatt %[a2], %[t2], %[t0], %[a2]\n\t"                                                        \
    "smlabb %[a1], %[t3], %[t1], %[a1]\n\t"                                                        \
    "smlatt %[a3], %[t3], %[t1], %[a3]\n\t"
/* A's first tap: its accumulators start from the bias, which B's hold (B then adds to its own) */
#define DW_MA0                                                                                      \
    "smlabb %[a0], %[t2], %[t0], %[a4]\n\t"                                                        \
    "smlatt %[a2], %[t2], %[t0], %[a6]\n\t"                                                        \
    "smlabb %[a1], %[t3], %[t1], %[a5]\n\t"                                                        \
    "smlatt %[a3], %[t3], %[t1], %[a7]\n\t"
#define DW_MB                                                                                       \
    "smlabb %[a4], %[t2], %[t0], %[a4]\n\t"                                                        \
    "smlatt %[a6], %[t2], %[t0], %[a6]\n\t"                                                        \
    "smlabb %[a5], %[t3], %[t1], %[a5]\n\t"                                                        \
    "smlatt %[a7], %[t3], %[t1], %[a7]\n\t"

/* Kernel row ky (weights at W = DW_W + 24 ky, inputs at row offset R), stride 1: B is one column
 * right of A, so each input pair loaded serves A with one tap and B with the previous one
 * (7 loads for the 6 taps). X0 is the load of A's column 0 (it may move p on; the others are
 * then relative to the moved p: R - I). */
#define DW_ROW_S1(X0, W, R, MA)                                                                     \
    X0 DW_LW(W) MA DW_LX((R) + 8) DW_MB DW_LW((W) + 8) DW_MA DW_LX((R) + 16) DW_MB               \
    DW_LW((W) + 16) DW_MA DW_LX((R) + 24) DW_MB
/* stride 2: B's column 0 is A's column 2 (8 loads for the 6 taps) */
#define DW_ROW_S2(X0, W, R, MA)                                                                     \
    X0 DW_LW(W) MA DW_LX((R) + 16) DW_MB DW_LW((W) + 16) DW_MA DW_LX((R) + 32) DW_MB             \
    DW_LW((W) + 8) DW_LX((R) + 8) DW_MA DW_LX((R) + 24) DW_MB

/* The nine taps of the pair at p; kernel row 0 last, its first load moving p to the next pair. */
#define DW_TAPS_1                                                                                   \
    DW_ROW_S1(DW_LX(DW_RSB), DW_W + 24, DW_RSB, DW_MA0)                                               \
    DW_ROW_S1(DW_LX(2 * DW_RSB), DW_W + 48, 2 * DW_RSB, DW_MA)                                        \
    DW_ROW_S1(DW_LXP(16), DW_W, -16, DW_MA)
#define DW_TAPS_2                                                                                   \
    DW_ROW_S2(DW_LX(DW_RSB), DW_W + 24, DW_RSB, DW_MA0)                                               \
    DW_ROW_S2(DW_LX(2 * DW_RSB), DW_W + 48, 2 * DW_RSB, DW_MA)                                        \
    DW_ROW_S2(DW_LXP(32), DW_W, -32, DW_MA)
#define DW_TAPS(S) DW_TAPS_##S

/* Lane c of both outputs (accumulators X, Y), TINYML_ROUND_DOUBLE: m, h at T + MH, e at T + E. */
#define DW_RQ_DOUBLE(X, Y, MH, E)                                                                   \
    "ldrd   %[t0], %[t1], [%[T], #" DW_XSTR(MH) "]\n\t"                                            \
    "ldr    %[t2], [%[T], #" DW_XSTR(E) "]\n\t"                                                    \
    "add    %[t3], %[t1], %[" X "], asr #31\n\t"                                                   \
    "smmlar %[" X "], %[" X "], %[t0], %[t3]\n\t"                                                  \
    "asr    %[" X "], %[" X "], %[t2]\n\t"                                                         \
    "ssat   %[" X "], #8, %[" X "]\n\t"                                                            \
    "add    %[t3], %[t1], %[" Y "], asr #31\n\t"                                                   \
    "smmlar %[" Y "], %[" Y "], %[t0], %[t3]\n\t"                                                  \
    "asr    %[" Y "], %[" Y "], %[t2]\n\t"                                                         \
    "ssat   %[" Y "], #8, %[" Y "]\n\t"

#define DW_RQ_SINGLE(X, Y, MH, E)                                                                   \
    "ldrd   %[t0], %[t1], [%[T], #" DW_XSTR(MH) "]\n\t"                                            \
    "ldr    %[t2], [%[T], #" DW_XSTR(E) "]\n\t"                                                    \
    "smmla  %[" X "], %[" X "], %[t0], %[t1]\n\t"                                                  \
    "asr    %[" X "], %[" X "], %[t2]\n\t"                                                         \
    "ssat   %[" X "], #8, %[" X "]\n\t"                                                            \
    "smmla  %[" Y "], %[" Y "], %[t0], %[t1]\n\t"                                                  \
    "asr    %[" Y "], %[" Y "], %[t2]\n\t"                                                         \
    "ssat   %[" Y "], #8, %[" Y "]\n\t"

#define DW_RQ_ALL(RQ) RQ("a0", "a4", 16, 48) RQ("a1", "a5", 24, 52) RQ("a2", "a6", 32, 56) RQ("a3", "a7", 40, 60)

/* pack, clamp, store both pixels, next pair */
#define DW_OUT                                                                                      \
    "bfi    %[a0], %[a1], #8, #8\n\t"                                                              \
    "bfi    %[a0], %[a2], #16, #8\n\t"                                                             \
    "bfi    %[a0], %[a3], #24, #8\n\t"                                                             \
    "bfi    %[a4], %[a5], #8, #8\n\t"                                                              \
    "bfi    %[a4], %[a6], #16, #8\n\t"                                                             \
    "bfi    %[a4], %[a7], #24, #8\n\t"                                                             \
    "ldrd   %[t0], %[t1], [%[T], #64]\n\t"                                                         \
    "cmp    %[t0], %[t1]\n\t" /* min > max: the full range, no clamp */                              \
    "bgt    6f\n\t"                                                                                  \
    "ssub8  %[t2], %[a0], %[t0]\n\t"                                                               \
    "sel    %[a0], %[a0], %[t0]\n\t"                                                               \
    "ssub8  %[t2], %[a0], %[t1]\n\t"                                                               \
    "sel    %[a0], %[t1], %[a0]\n\t"                                                               \
    "ssub8  %[t2], %[a4], %[t0]\n\t"                                                               \
    "sel    %[a4], %[a4], %[t0]\n\t"                                                               \
    "ssub8  %[t2], %[a4], %[t1]\n\t"                                                               \
    "sel    %[a4], %[t1], %[a4]\n\t"                                                               \
    "6:\n\t"                                                                                         \
    "ldrd   %[t0], %[t1], [%[T], #72]\n\t"                                                         \
    "str    %[a0], [%[t0]]\n\t"                                                                    \
    "str    %[a4], [%[t0], %[t1]]\n\t"                                                             \
    "add    %[t0], %[t0], %[t1], lsl #1\n\t"                                                       \
    "str    %[t0], [%[T], #72]\n\t"                                                                \
    "ldr    %[t0], [%[T], #80]\n\t"                                                                \
    "cmp    %[p], %[t0]\n\t"                                                                       \
    "bne    1b\n\t"

#define DW_PAIRS(S, RQ)                                                                             \
    __asm__ volatile("1:\n\t"                                                                       \
                     "ldrd   %[a4], %[a5], [%[T], #0]\n\t"                                         \
                     "ldrd   %[a6], %[a7], [%[T], #8]\n\t" DW_TAPS(S) DW_RQ_ALL(RQ) DW_OUT          \
                     : [p] "+r"(x), [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),   \
                       [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7), [t0] "=&r"(t0), \
                       [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)                               \
                     : [T] "r"(g)                                                                   \
                     : "cc", "memory")

/* One tap of a single output: weights at T + W, input at p + A. */
#define DW_TAP1(W, A) DW_LW(W) DW_LX(A) DW_MA

#define DW_RQ1_DOUBLE(X, MH, E)                                                                     \
    "ldrd   %[t0], %[t1], [%[T], #" DW_XSTR(MH) "]\n\t"                                            \
    "ldr    %[t2], [%[T], #" DW_XSTR(E) "]\n\t"                                                    \
    "add    %[t3], %[t1], %[" X "], asr #31\n\t"                                                   \
    "smmlar %[" X "], %[" X "], %[t0], %[t3]\n\t"                                                  \
    "asr    %[" X "], %[" X "], %[t2]\n\t"                                                         \
    "ssat   %[" X "], #8, %[" X "]\n\t"

#define DW_RQ1_SINGLE(X, MH, E)                                                                     \
    "ldrd   %[t0], %[t1], [%[T], #" DW_XSTR(MH) "]\n\t"                                            \
    "ldr    %[t2], [%[T], #" DW_XSTR(E) "]\n\t"                                                    \
    "smmla  %[" X "], %[" X "], %[t0], %[t1]\n\t"                                                  \
    "asr    %[" X "], %[" X "], %[t2]\n\t"                                                         \
    "ssat   %[" X "], #8, %[" X "]\n\t"

#define DW_SINGLE(RQ)                                                                               \
    __asm__ volatile("ldrd   %[a0], %[a1], [%[T], #0]\n\t"                                         \
                     "ldrd   %[a2], %[a3], [%[T], #8]\n\t"                                         \
                     DW_TAP1(DW_W, 0) DW_TAP1(DW_W + 8, 8) DW_TAP1(DW_W + 16, 16)                         \
                     DW_TAP1(DW_W + 24, DW_RSB) DW_TAP1(DW_W + 32, DW_RSB + 8) DW_TAP1(DW_W + 40, DW_RSB + 16) \
                     DW_TAP1(DW_W + 48, 2 * DW_RSB) DW_TAP1(DW_W + 56, 2 * DW_RSB + 8)                  \
                     DW_TAP1(DW_W + 64, 2 * DW_RSB + 16)                                              \
                     RQ("a0", 16, 48) RQ("a1", 24, 52) RQ("a2", 32, 56) RQ("a3", 40, 60)            \
                     "bfi    %[a0], %[a1], #8, #8\n\t"                                             \
                     "bfi    %[a0], %[a2], #16, #8\n\t"                                            \
                     "bfi    %[a0], %[a3], #24, #8\n\t"                                            \
                     "ldrd   %[t0], %[t1], [%[T], #64]\n\t"                                        \
                     "cmp    %[t0], %[t1]\n\t"                                                     \
                     "bgt    6f\n\t"                                                                \
                     "ssub8  %[t2], %[a0], %[t0]\n\t"                                              \
                     "sel    %[a0], %[a0], %[t0]\n\t"                                              \
                     "ssub8  %[t2], %[a0], %[t1]\n\t"                                              \
                     "sel    %[a0], %[t1], %[a0]\n\t"                                              \
                     "6:\n\t"                                                                       \
                     "str    %[a0], [%[out]]\n\t"                                                  \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [t0] "=&r"(t0), \
                       [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3)                               \
                     : [T] "r"(g), [p] "r"(x), [out] "r"(out)                                      \
                     : "cc", "memory")

/* One output row of a tile: `count` outputs of a full group in a fast mode, stride 1 or 2
 * across, the first one's tap (0, 0) at x, outputs out_step bytes apart from out. Pairs of
 * adjacent outputs, then the odd one. */
static void DW_NOINLINE dw_row_3x3(dw_group_t *g, const int32_t *x, int32_t count, int32_t stride, int8_t *out,
                                   int32_t out_step)
{
    int32_t a0, a1, a2, a3, a4, a5, a6, a7, t0, t1, t2, t3;
    const int32_t pairs = count >> 1;
    if (pairs > 0) {
        g->out = out;
        g->out_step = out_step;
        g->end = x + 4 * stride * pairs;
        if (stride == 1) {
            if (g->mode == DW_DOUBLE) {
                DW_PAIRS(1, DW_RQ_DOUBLE);
            } else {
                DW_PAIRS(1, DW_RQ_SINGLE);
            }
        } else {
            if (g->mode == DW_DOUBLE) {
                DW_PAIRS(2, DW_RQ_DOUBLE);
            } else {
                DW_PAIRS(2, DW_RQ_SINGLE);
            }
        }
    }
    if (count & 1) { /* x has moved past the pairs */
        out += (size_t)(count - 1) * out_step;
        if (g->mode == DW_DOUBLE) {
            DW_SINGLE(DW_RQ1_DOUBLE);
        } else {
            DW_SINGLE(DW_RQ1_SINGLE);
        }
    }
    (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7;
    (void)t0, (void)t1, (void)t2, (void)t3;
}

/* One output of any kernel (dilation 1 across), full group, fast mode: the taps row by row
 * (8 instructions a tap), then the requantization of the 3 x 3 single output. */
#define DW_PIXEL(RQ)                                                                                \
    __asm__ volatile("ldrd   %[a0], %[a1], [%[T], #0]\n\t"                                         \
                     "ldrd   %[a2], %[a3], [%[T], #8]\n\t"                                         \
                     "add    %[w], %[T], #" DW_XSTR(DW_W) "\n\t"                                   \
                     "ldr    %[rows], [%[T], #84]\n\t"                                             \
                     "2:\n\t"                                                                       \
                     "uxth   %[kx], %[rows]\n\t"                                                    \
                     "1:\n\t"                                                                       \
                     "ldrd   %[t0], %[t1], [%[w]], #8\n\t"                                         \
                     "ldrd   %[t2], %[t3], [%[p]], #8\n\t" DW_MA                                  \
                     "subs   %[kx], %[kx], #1\n\t"                                                 \
                     "bne    1b\n\t"                                                                \
                     "ldr    %[kx], [%[T], #88]\n\t"                                               \
                     "add    %[p], %[p], %[kx]\n\t"                                                \
                     "subs   %[rows], %[rows], #65536\n\t"                                         \
                     "bcs    2b\n\t"                                                                \
                     RQ("a0", 16, 48) RQ("a1", 24, 52) RQ("a2", 32, 56) RQ("a3", 40, 60)            \
                     "bfi    %[a0], %[a1], #8, #8\n\t"                                             \
                     "bfi    %[a0], %[a2], #16, #8\n\t"                                            \
                     "bfi    %[a0], %[a3], #24, #8\n\t"                                            \
                     "ldrd   %[t0], %[t1], [%[T], #64]\n\t"                                        \
                     "cmp    %[t0], %[t1]\n\t"                                                     \
                     "bgt    6f\n\t"                                                                \
                     "ssub8  %[t2], %[a0], %[t0]\n\t"                                              \
                     "sel    %[a0], %[a0], %[t0]\n\t"                                              \
                     "ssub8  %[t2], %[a0], %[t1]\n\t"                                              \
                     "sel    %[a0], %[t1], %[a0]\n\t"                                              \
                     "6:\n\t"                                                                       \
                     "ldr    %[t0], [%[T], #72]\n\t"                                               \
                     "str    %[a0], [%[t0]]\n\t"                                                   \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [t0] "=&r"(t0), \
                       [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [p] "+r"(xp), [w] "=&r"(w),     \
                       [rows] "=&r"(rows), [kx] "=&r"(kx)                                            \
                     : [T] "r"(g)                                                                   \
                     : "cc", "memory")

/* `count` outputs x_step words apart in the window, out_step bytes apart from out; rs: the
 * window row stride (words) of the call. */
static void DW_NOINLINE dw_pixels_asm(dw_group_t *g, const tinyml_depthwise_conv2d_params_t *p, const int32_t *x,
                                      int32_t count, int32_t x_step, int32_t rs, int8_t *out)
{
    const int32_t kh = p->filter.h, kw = p->filter.w, out_step = p->output.c;
    int32_t a0, a1, a2, a3, t0, t1, t2, t3, rows, kx;
    const int32_t *w;
    g->k_rows = (int32_t)((uint32_t)(kh - 1) << 16) + kw;
    g->k_adv = 4 * (p->dilation.h * rs - 2 * kw);
    for (int32_t i = 0; i < count; ++i, x += x_step, out += out_step) {
        const int32_t *xp = x;
        g->out = out;
        if (g->mode == DW_DOUBLE) {
            DW_PIXEL(DW_RQ1_DOUBLE);
        } else {
            DW_PIXEL(DW_RQ1_SINGLE);
        }
    }
    (void)a0, (void)a1, (void)a2, (void)a3, (void)t0, (void)t1, (void)t2, (void)t3, (void)rows, (void)kx, (void)w;
}
#endif

/* ---- the window --------------------------------------------------------------- */

/* n entries of the extended zero point into both copies of a slot. */
static void dw_fill(int32_t *d1, int32_t *d2, int32_t n, int32_t ze, int32_t zo)
{
    for (; n > 0; --n, d1 += 2, d2 += 2) {
        d1[0] = ze;
        d1[1] = zo;
        d2[0] = ze;
        d2[1] = zo;
    }
}

#if DW_ASM
/* n full-group pixels (ch bytes apart from src) extended into both copies of a slot: four
 * pixels a step (4 LDR, 8 SXTB16, one 8-word STM to each copy), then two and one. Not inlined:
 * it takes r4-r11 for the STM lists. */
static void DW_NOINLINE dw_extend4(int32_t *d1, int32_t *d2, const int8_t *src, int32_t ch, int32_t n)
{
    register int32_t e0 __asm__("r4"), o0 __asm__("r5"), e1 __asm__("r6"), o1 __asm__("r7");
    register int32_t e2 __asm__("r8"), o2 __asm__("r9"), e3 __asm__("r10"), o3 __asm__("r11");
    __asm__ volatile("subs   %[n], %[n], #4\n\t"
                     "blt    3f\n\t"
                     "1:\n\t"
                     "ldr    %[o0], [%[src]]\n\t"
                     "ldr    %[o1], [%[src], %[ch]]\n\t"
                     "ldr    %[o2], [%[src], %[ch], lsl #1]\n\t"
                     "add    %[src], %[src], %[ch], lsl #1\n\t"
                     "ldr    %[o3], [%[src], %[ch]]\n\t"
                     "add    %[src], %[src], %[ch], lsl #1\n\t"
                     "sxtb16 %[e0], %[o0]\n\t"
                     "sxtb16 %[o0], %[o0], ror #8\n\t"
                     "sxtb16 %[e1], %[o1]\n\t"
                     "sxtb16 %[o1], %[o1], ror #8\n\t"
                     "sxtb16 %[e2], %[o2]\n\t"
                     "sxtb16 %[o2], %[o2], ror #8\n\t"
                     "sxtb16 %[e3], %[o3]\n\t"
                     "sxtb16 %[o3], %[o3], ror #8\n\t"
                     "stmia  %[d1]!, {%[e0], %[o0], %[e1], %[o1], %[e2], %[o2], %[e3], %[o3]}\n\t"
                     "stmia  %[d2]!, {%[e0], %[o0], %[e1], %[o1], %[e2], %[o2], %[e3], %[o3]}\n\t"
                     "subs   %[n], %[n], #4\n\t"
                     "bge    1b\n\t"
                     "3:\n\t"
                     "adds   %[n], %[n], #2\n\t" /* n - 2: two more? */
                     "blt    5f\n\t"
                     "ldr    %[o0], [%[src]]\n\t"
                     "ldr    %[o1], [%[src], %[ch]]\n\t"
                     "add    %[src], %[src], %[ch], lsl #1\n\t"
                     "sxtb16 %[e0], %[o0]\n\t"
                     "sxtb16 %[o0], %[o0], ror #8\n\t"
                     "sxtb16 %[e1], %[o1]\n\t"
                     "sxtb16 %[o1], %[o1], ror #8\n\t"
                     "stmia  %[d1]!, {%[e0], %[o0], %[e1], %[o1]}\n\t"
                     "stmia  %[d2]!, {%[e0], %[o0], %[e1], %[o1]}\n\t"
                     "subs   %[n], %[n], #2\n\t"
                     "5:\n\t"
                     "adds   %[n], %[n], #2\n\t" /* 0 or 1 left */
                     "beq    4f\n\t"
                     "ldr    %[o0], [%[src]]\n\t"
                     "add    %[src], %[src], %[ch]\n\t"
                     "sxtb16 %[e0], %[o0]\n\t"
                     "sxtb16 %[o0], %[o0], ror #8\n\t"
                     "stmia  %[d1]!, {%[e0], %[o0]}\n\t"
                     "stmia  %[d2]!, {%[e0], %[o0]}\n\t"
                     "4:\n\t"
                     : [src] "+r"(src), [d1] "+r"(d1), [d2] "+r"(d2), [n] "+r"(n), [e0] "=&r"(e0),
                       [o0] "=&r"(o0), [e1] "=&r"(e1), [o1] "=&r"(o1), [e2] "=&r"(e2), [o2] "=&r"(o2),
                       [e3] "=&r"(e3), [o3] "=&r"(o3)
                     : [ch] "r"(ch)
                     : "cc", "memory");
}
#endif

/* n input pixels (the group's lanes, ch bytes apart from src) extended into both copies of a slot. */
static inline void dw_extend(int32_t *d1, int32_t *d2, const int8_t *src, int32_t ch, int32_t n, int32_t lanes)
{
    if (lanes == 4) {
#if DW_ASM
        dw_extend4(d1, d2, src, ch, n);
#else
        for (; n > 0; --n, src += ch, d1 += 2, d2 += 2) {
            const int32_t w = tm_load_s8x4(src);
            d1[0] = d2[0] = tm_sxtb16(w);
            d1[1] = d2[1] = tm_sxtb16_ror8(w);
        }
#endif
        return;
    }
    for (; n > 0; --n, src += ch, d1 += 2, d2 += 2) {
        const int32_t w = dw_load(src, lanes);
        d1[0] = d2[0] = tm_sxtb16(w);
        d1[1] = d2[1] = tm_sxtb16_ror8(w);
    }
}

static inline int32_t dw_mod(int32_t a, int32_t n)
{
    const int32_t r = a % n;
    return r < 0 ? r + n : r;
}

/* ---- the exact loop (any depth multiplier, any geometry) ------------------------ */

static void dw_exact(const tinyml_depthwise_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                     const int32_t *folded_bias, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, in_c = p->input.c;
    const int32_t k_h = p->filter.h, k_w = p->filter.w;
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c;
    const int32_t m = p->depth_multiplier, z = -p->input_offset;
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *image = input + (size_t)b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * p->stride.h - p->pad.h;
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * p->stride.w - p->pad.w;
                int8_t *out = output + (((size_t)b * out_h + oy) * out_w + ox) * out_c;
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / m;
                    uint32_t acc = (uint32_t)folded_bias[oc];
                    for (int32_t ky = 0; ky < k_h; ++ky) {
                        const int32_t iy = y0 + ky * p->dilation.h;
                        const int row_in = iy >= 0 && iy < in_h;
                        for (int32_t kx = 0; kx < k_w; ++kx) {
                            const int32_t ix = x0 + kx * p->dilation.w;
                            const int32_t v =
                                row_in && ix >= 0 && ix < in_w ? image[((size_t)iy * in_w + ix) * in_c + ic] : z;
                            acc += (uint32_t)(v * filter[(ky * k_w + kx) * out_c + oc]);
                        }
                    }
                    int32_t r = tm_mbqm((int32_t)acc, p->quant.multiplier[oc], p->quant.shift[oc], TM_ROUNDING(p->rounding));
                    r = tm_wadd(r, p->output_offset);
                    out[oc] = (int8_t)tm_clamp(r, p->activation.min, p->activation.max);
                }
            }
        }
    }
}

/* ---- the kernel ------------------------------------------------------------------ */

/* What a tile needs of the call. */
typedef struct {
    const tinyml_depthwise_conv2d_params_t *p;
    int32_t *window;
    int32_t rs, khe, copy; /* row stride, ring rows, words to a slot's second copy (khe * rs) */
    int32_t ze, zo;        /* the extended input zero point */
    int pairs3;            /* the 3 x 3 assembly applies to full groups in a fast mode */
} dw_call_t;

#if DW_ASM
/* dw_tile for the 3 x 3 assembly (full group, fast mode): the ring geometry fixed. column: the
 * image's row 0 at the first window column inside the image, lo; n such columns. */
static void DW_NOINLINE dw_tile3(const dw_call_t *k, dw_group_t *g, const int8_t *column, int8_t *out, int32_t count,
                                 int32_t lo, int32_t n)
{
    const tinyml_depthwise_conv2d_params_t *p = k->p;
    const int32_t in_h = p->input.h, ch = p->input.c, sh = p->stride.h, sw = p->stride.w;
    const size_t row_bytes = (size_t)p->input.w * ch, out_row = (size_t)p->output.w * ch;
    int32_t *const window = k->window, *const ring_end = window + 3 * DW_RS3;
    int32_t r = -p->pad.h; /* the next input row to build, where it goes, its pixels */
    int32_t *d = window + dw_mod(r, 3) * DW_RS3 + 2 * lo;
    const int8_t *src = column;
    for (int32_t oy = p->output.h, iy0 = r; oy > 0; --oy, iy0 += sh, out += out_row) {
        if (r < iy0) { /* rows no output reads (stride > 3) */
            r = iy0;
            d = window + dw_mod(r, 3) * DW_RS3 + 2 * lo;
            src = column + (size_t)(r <= 0 ? 0 : (r < in_h ? r : in_h - 1)) * row_bytes;
        }
        for (; r < iy0 + 3; ++r) {
            if ((uint32_t)r < (uint32_t)in_h) {
                dw_extend(d, d + 3 * DW_RS3, src, ch, n, 4);
                src += row_bytes;
            } else {
                dw_fill(d, d + 3 * DW_RS3, n, k->ze, k->zo);
            }
            d += DW_RS3;
            if (d >= ring_end) {
                d -= 3 * DW_RS3;
            }
        }
        dw_row_3x3(g, d - 2 * lo, count, sw, out, ch);
    }
}
#endif

/* The outputs [ox0, ox0 + count) of every output row of one image, one group. */
static void DW_NOINLINE dw_tile(const dw_call_t *k, dw_group_t *g, const int8_t *image, int8_t *out_image, int32_t c0,
                                int32_t ox0, int32_t count)
{
    const tinyml_depthwise_conv2d_params_t *p = k->p;
    const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c, out_w = p->output.w;
    const int32_t sh = p->stride.h, sw = p->stride.w, khe = k->khe, rs = k->rs, copy = k->copy;
    const int32_t lanes = g->lanes;
    const int32_t ix0 = ox0 * sw - p->pad.w, cols = (count - 1) * sw + (p->filter.w - 1) * p->dilation.w + 1;
    /* the window columns inside the image, [lo, hi); the others are padding in every row */
    const int32_t lo = ix0 < 0 ? (-ix0 < cols ? -ix0 : cols) : 0;
    const int32_t hi = in_w - ix0 < cols ? (in_w - ix0 > lo ? in_w - ix0 : lo) : cols;
    int32_t *const window = k->window;
    if (lo > 0 || hi < cols) {
        for (int32_t slot = 0; slot < khe; ++slot) {
            int32_t *d = window + slot * rs;
            dw_fill(d, d + copy, lo, k->ze, k->zo);
            dw_fill(d + 2 * hi, d + copy + 2 * hi, cols - hi, k->ze, k->zo);
        }
    }
    const int8_t *const column = hi > lo ? image + (size_t)(ix0 + lo) * ch + c0 : image;
#if DW_ASM
    if (k->pairs3 && lanes == 4 && g->mode != DW_EXACT) {
        dw_tile3(k, g, column, out_image + (size_t)ox0 * ch + c0, count, lo, hi - lo);
        return;
    }
#endif
    const size_t row_bytes = (size_t)in_w * ch;
    const int32_t n = hi - lo;
    int32_t *const ring_end = window + copy;
    /* the next input row to build, where it goes (its first copy, column lo), its pixels */
    int32_t r = -p->pad.h;
    int32_t *d = window + dw_mod(r, khe) * rs + 2 * lo;
    const int8_t *src = column + (size_t)(r > 0 ? r : 0) * row_bytes;
    int8_t *out = out_image + (size_t)ox0 * ch + c0;
    for (int32_t oy = 0, iy0 = -p->pad.h; oy < p->output.h; ++oy, iy0 += sh, out += (size_t)out_w * ch) {
        if (r < iy0) { /* rows no output reads (stride > KH_eff) */
            r = iy0;
            d = window + dw_mod(r, khe) * rs + 2 * lo;
            src = column + (size_t)(r <= 0 ? 0 : (r < in_h ? r : in_h - 1)) * row_bytes;
        }
        for (; r < iy0 + khe; ++r) {
            if ((uint32_t)r < (uint32_t)in_h) {
                dw_extend(d, d + copy, src, ch, n, lanes);
                src += row_bytes;
            } else {
                dw_fill(d, d + copy, n, k->ze, k->zo);
            }
            d += rs;
            if (d >= ring_end) {
                d -= copy;
            }
        }
        /* d is now at the slot of row iy0 + khe, i.e. of iy0: the output row's first window row */
        const int32_t *x = d - 2 * lo;
#if DW_ASM
        if (lanes == 4 && g->mode != DW_EXACT && p->dilation.w == 1) {
            dw_pixels_asm(g, p, x, count, 2 * sw, rs, out);
            continue;
        }
#endif
        dw_pixels(g, p, x, count, 2 * sw, rs, out);
    }
}

void tinyml_depthwise_conv2d_s8_fast(const tinyml_depthwise_conv2d_params_t *p, const int8_t *input,
                                     const int8_t *filter, const int32_t *folded_bias, int8_t *output)
{
    const int32_t kh = p->filter.h, kw = p->filter.w, dh = p->dilation.h, dw = p->dilation.w, sw = p->stride.w;
    const int32_t khe = (kh - 1) * dh + 1, kwe = (kw - 1) * dw + 1;
    const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w;
    int32_t rs = (DW_WINDOW_WORDS / (2 * khe)) & ~1;
    if (p->depth_multiplier != 1 || kh * kw > DW_MAX_TAPS || rs / 2 < kwe || out_h <= 0 || out_w <= 0) {
        dw_exact(p, input, filter, folded_bias, output);
        return;
    }
    const int pairs3 = DW_ASM && kh == 3 && kw == 3 && dh == 1 && dw == 1 && (sw == 1 || sw == 2);
    if (pairs3) {
        rs = DW_RS3;
    }
    int32_t tile = (rs / 2 - kwe) / sw + 1;
    if (pairs3 && tile > 1) {
        tile &= ~1;
        /* equal tiles, even widths where possible (the pairs) */
        const int32_t tiles = (out_w + tile - 1) / tile;
        const int32_t even = (((out_w + tiles - 1) / tiles) + 1) & ~1;
        tile = even <= tile ? even : tile;
    }
    int32_t window[DW_WINDOW_WORDS];
    dw_group_t g;
    const int32_t zw = dw_bytes4(-p->input_offset);
    const dw_call_t k = {p, window, rs, khe, khe * rs, tm_sxtb16(zw), tm_sxtb16_ror8(zw), pairs3};
    for (int32_t c0 = 0; c0 < ch; c0 += 4) {
        dw_group_setup(&g, p, filter, folded_bias, c0, ch - c0 < 4 ? ch - c0 : 4);
        for (int32_t b = 0; b < p->output.n; ++b) {
            const int8_t *image = input + (size_t)b * in_h * in_w * ch;
            int8_t *out_image = output + (size_t)b * out_h * out_w * ch;
            for (int32_t ox0 = 0; ox0 < out_w; ox0 += tile) {
                dw_tile(&k, &g, image, out_image, c0, ox0, out_w - ox0 < tile ? out_w - ox0 : tile);
            }
        }
    }
}
