/*
 * DEPTHWISE_CONV_2D in place, fast: the fast variant of
 * tinyml_depthwise_conv2d_inplace_s8 (bit-identical to it, the same
 * in_h * in_w bytes of scratch, the same in-place guarantees), for any kernel
 * size, stride, dilation, padding, batch and channel count.
 *
 * Channel planes through a line window. Like the reference kernel this works
 * channel by channel, but channel c is not copied whole into `scratch`:
 * scratch holds a window of consecutive *padded lines* of the plane (a line
 * is a row, or a column when the plane is taken transposed, below). A window
 * line is the line's pixels of channel c gathered from the buffer, with the
 * left / right padding bytes, and whole padding lines, set to the input zero
 * point -input_offset. Every output is then computed from the window without
 * bounds checks or an edge path: a padded tap reads the zero point and adds 0
 * with the folded bias (kernels.h, "Fast variants"). Output lines are written
 * over the buffer as soon as they are computed.
 *
 * Order. Before output line L is computed, every input line it reads is
 * copied into the window, and so is every input line that writing line L
 * overwrites (with TFLite's SAME / VALID shapes that is never a line not read
 * yet; copying early is always safe). The window keeps the lines from the
 * first one line L reads; when it is full the lines still needed move to its
 * start. geom_window_lines() runs the same schedule to find how many lines
 * the window must hold.
 *
 * Where the window lives. In scratch; for planes of fewer than DW_LOCAL_BYTES
 * (256) pixels, whose scratch is smaller, in a 256-byte array on the stack
 * instead: it holds every padded line of a KWS 25x5 plane or a VWW 6x6 or 3x3
 * plane, so no line is copied twice (the kernel uses about 1 KiB of stack
 * in all). When the window fits in neither (a kernel or stride too large for the
 * plane, or an activation range outside int8) the plane is copied whole into
 * scratch as in the reference kernel and computed by a plain loop over the
 * taps inside the image.
 *
 * Transposed planes. When the output is as wide as the input (stride 1
 * across and SAME padding, or a 1-wide kernel), output column x lands exactly
 * on input column x, so the plane can as well be processed column by column.
 * That is chosen when the columns are longer (KWS's 25x5 planes: 5 lines of
 * 25 instead of 25 of 5), which spreads the per-line work over more outputs.
 *
 * Line kernels (single instructions with the DSP extension; tinyml/simd.h has
 * exact portable C for each):
 *   - 3x3, stride 1 and dilation 1 along the line: two adjacent outputs per
 *     step from one word load per kernel row. The word b0..b3 gives the int16
 *     pairs e = (b0, b2) and o = (b1, b3) (SXTB16, SXTB16 ROR #8); with the
 *     row's weights w0, w1, w2 held as the pair (w0, w2) and w1 in one half of
 *     a register, out0 += SMLAD(e, (w0, w2)) + SMLABx(o, w1) and
 *     out1 += SMLAD(o, (w0, w2)) + SMLATx(e, w1): 7 instructions for 6 MACs;
 *     the nine weights stay in five registers for the whole plane. With
 *     stride 1 and dilation 1 across lines too, two lines are computed at once
 *     (2 x 2 outputs from 4 window lines, each loaded and widened once).
 *   - 3x3, stride 2 along the line: two outputs per step, the second from the
 *     word two bytes on (its even bytes are taps 0 and 2).
 *   - any width with dilation 1 along the line, any stride: one output at a
 *     time, a word of 4 taps per SMLAD pair (weights zero past the kernel).
 *   - anything else: scalar taps from the window.
 *
 * Requantization. The multiplier and shift are constant over a plane. For a
 * shift in [-21, -1] (e = -shift) and |accumulator| < 2^30 (a bound from the
 * folded bias and the kernel size, checked per channel) the kernels
 * accumulate 2 * acc (weights and bias doubled), and with
 * h = (2 * output_offset + 1) * 2^(e-1):
 *   TINYML_ROUND_SINGLE: tm_mbqm(acc) + offset = SMMLA(2acc, m, h) >> e
 *     (the reference is floor((acc*m + 2^(30+e)) / 2^(31+e)); SMMLA gives
 *     floor((h * 2^31 + acc*m) / 2^31) and floors nest).
 *   TINYML_ROUND_DOUBLE: tm_mbqm(acc) + offset = SMMLAR(2acc, m, h + s) >> e,
 *     s = -1 if acc < 0 else 0. tm_srdhm(acc, m) is y = floor((acc*m + 2^30) /
 *     2^31) (its nudge and truncation round ties up) and tm_rdbpot(y, e) is
 *     floor((y + 2^(e-1) - [y < 0]) / 2^e); nested floors with integer addends
 *     merge into floor((acc*m + 2^30 + (h - [y<0]) * 2^31) / 2^(31+e)), which
 *     SMMLAR (it adds 2^31 to 2acc*m before taking the high word) and the
 *     shift compute. [y < 0] is replaced by [acc < 0]: they differ only when
 *     y = 0, where both give 0 (e >= 1).
 *   No overflow: |h| < 2^28 and |acc*m / 2^31| < 2^30, so the high word fits.
 * Then SSAT #8 and, unless the activation range is [-128, 127], a clamp of
 * the 2 or 4 outputs of a step at once in the bytes of one word (BFI, then
 * SSUB8 + SEL for the maximum and the minimum). Other channels use tm_mbqm
 * on the plain accumulator in the word or scalar kernel.
 */
#include "tinyml/kernels.h"
#include "tinyml/simd.h"

/* bytes after the last window line a word load may touch (values never used) */
#define DW_SLACK 4
/* a window on the stack for planes smaller than it: room for all padded lines of a tiny
 * plane (3x3 or 6x6 planes in VWW) or a small one (KWS's 25x5), so no lines move */
#define DW_LOCAL_BYTES 256
/* packed weights of the word kernel: kernel lines x words per line */
#define DW_WORDS_MAX 16

enum { DW_K_SCALAR, DW_K_WORDS, DW_K_3X3S2, DW_K_3X3 };
enum { DW_RQ_DOUBLE, DW_RQ_SINGLE, DW_RQ_GENERIC };

#if defined(__GNUC__)
#define DW_INLINE static inline __attribute__((always_inline))
#define DW_NOINLINE __attribute__((noinline))
#else
#define DW_INLINE static inline
#define DW_NOINLINE
#endif

/* TINYML_DW_INPLACE_NO_PORTABLE_STEP (tinyml sets it when every layer of the network on this
 * kernel is 3x3, dilation 1, stride 1 or 2: codegen/build.py): on the DSP build a channel plane
 * without an assembly step runs the whole-plane fallback (plane_plain), exact but slower, and
 * the portable C step (run_step) is left out. */
#if TINYML_HAVE_DSP && defined(__GNUC__) && defined(TINYML_DW_INPLACE_NO_PORTABLE_STEP)
#define DW_PORTABLE_STEP 0
#else
#define DW_PORTABLE_STEP 1
#endif

size_t tinyml_depthwise_conv2d_inplace_s8_fast_scratch_size(const tinyml_depthwise_conv2d_params_t *p)
{
    return (size_t)p->input.h * (size_t)p->input.w;
}

/* ---- geometry ------------------------------------------------------------
 * A plane seen as lines: `l` across lines, `x` along a line. Steps are buffer
 * bytes; w_line / w_step are filter tap index steps per kernel line / per tap. */
typedef struct {
    int32_t out_lines, out_len, in_lines, in_len;
    int32_t s_l, s_x, d_l, d_x, pad_l, pad_x, k_l, k_x;
    int32_t in_step, in_line_step, out_step, out_line_step;
    int32_t w_line, w_step;
    int32_t transposed;
    int32_t lb;     /* bytes of a window line: the padded bytes its taps read */
    int32_t left, copy, right; /* a window line: zero points, pixels, zero points */
    int32_t slots;  /* window lines that fit in the window's memory */
    int32_t kernel; /* DW_K_* */
    int32_t two;    /* steps of two output lines (3x3 with stride and dilation 1 across lines) */
    int32_t plain_order; /* no step overwrites an input line beyond the last one it reads */
} dw_geom_t;

static void geom_init(const tinyml_depthwise_conv2d_params_t *p, int transposed, int two, int32_t room,
                      dw_geom_t *g)
{
    const int32_t ch = p->input.c;
    if (!transposed) {
        g->out_lines = p->output.h, g->out_len = p->output.w, g->in_lines = p->input.h, g->in_len = p->input.w;
        g->s_l = p->stride.h, g->s_x = p->stride.w, g->d_l = p->dilation.h, g->d_x = p->dilation.w;
        g->pad_l = p->pad.h, g->pad_x = p->pad.w, g->k_l = p->filter.h, g->k_x = p->filter.w;
        g->in_step = ch, g->in_line_step = p->input.w * ch, g->out_step = ch, g->out_line_step = p->output.w * ch;
        g->w_line = p->filter.w, g->w_step = 1;
    } else {
        g->out_lines = p->output.w, g->out_len = p->output.h, g->in_lines = p->input.w, g->in_len = p->input.h;
        g->s_l = p->stride.w, g->s_x = p->stride.h, g->d_l = p->dilation.w, g->d_x = p->dilation.h;
        g->pad_l = p->pad.w, g->pad_x = p->pad.h, g->k_l = p->filter.w, g->k_x = p->filter.h;
        g->in_step = p->input.w * ch, g->in_line_step = ch, g->out_step = p->output.w * ch, g->out_line_step = ch;
        g->w_line = 1, g->w_step = p->filter.w;
    }
    g->transposed = transposed;
    g->lb = (g->out_len - 1) * g->s_x + (g->k_x - 1) * g->d_x + 1;
    g->left = g->pad_x < g->lb ? g->pad_x : g->lb;
    g->copy = g->lb - g->left < g->in_len ? g->lb - g->left : g->in_len;
    g->right = g->lb - g->left - g->copy;
    room -= DW_SLACK;
    g->slots = room > 0 ? room / g->lb : 0;
    const int k3 = g->k_l == 3 && g->k_x == 3 && g->d_x == 1;
    if (k3 && g->s_x == 1) {
        g->kernel = DW_K_3X3;
#if !defined(TINYML_DW_INPLACE_NO_S2) /* else the stride-2 layers take the word steps */
    } else if (k3 && g->s_x == 2) {
        g->kernel = DW_K_3X3S2;
#endif
    } else if (g->d_x == 1 && g->k_l * ((g->k_x + 3) >> 2) <= DW_WORDS_MAX) {
        g->kernel = DW_K_WORDS;
    } else {
        g->kernel = DW_K_SCALAR;
    }
    g->two = two && g->kernel == DW_K_3X3 && g->s_l == 1 && g->d_l == 1;
}

/* The schedule. Step at output line L: `lines` output lines, reading the window lines
 * from line_first(L); before it, the input lines up to step_target() are copied. */
static inline int32_t step_lines(const dw_geom_t *g, int32_t L) { return g->two && L + 1 < g->out_lines ? 2 : 1; }

static inline int32_t line_first(const dw_geom_t *g, int32_t L) { return L * g->s_l - g->pad_l; }

static inline int32_t step_target(const dw_geom_t *g, int32_t L, int32_t lines)
{
    const int32_t last = line_first(g, L + lines - 1) + (g->k_l - 1) * g->d_l;
    /* the last input line writing these output lines overwrites (of channel c; any batch's
     * output lies at or before its own input, so batch 0 is the earliest) */
    const int32_t end = L + lines;
    const int32_t destroyed = g->transposed ? end - 1 : (end * g->out_len - 1) / g->in_len;
    return last > destroyed ? last : destroyed;
}

/* The window lines the schedule of plane_window() needs at most. */
static int32_t geom_window_lines(const dw_geom_t *g)
{
    int32_t next = line_first(g, 0), need = 0;
    for (int32_t L = 0, lines; L < g->out_lines; L += lines) {
        lines = step_lines(g, L);
        const int32_t first = line_first(g, L), target = step_target(g, L, lines);
        if (next < first) {
            next = first;
        }
        if (target >= next) {
            next = target + 1;
        }
        if (next - first > need) {
            need = next - first;
        }
    }
    return need;
}

static int geom_fits(dw_geom_t *g)
{
    g->plain_order = 1;
    for (int32_t L = 0, lines; L < g->out_lines; L += lines) {
        lines = step_lines(g, L);
        if (step_target(g, L, lines) != line_first(g, L + lines - 1) + (g->k_l - 1) * g->d_l) {
            g->plain_order = 0;
        }
    }
    return geom_window_lines(g) <= g->slots;
}

/* ---- one channel plane ---------------------------------------------------- */
/* What the DSP loops read from memory through one base register: the accumulator start
 * (the folded bias, doubled in the fast modes), the fast requantization (m, h, e: see the
 * top of the file), the output steps, the activation bytes and whether to clamp; set once
 * per plane, `end` per step. */
typedef struct {
    int32_t bias, h, m, e, step, lstep, lo4, hi4, clamp, odd;
    const int8_t *end;
} dw_k_t;

/* A DSP 3x3 step (weights, constants, first row, kernel line distance, dst). */
typedef void (*dw_fn_t)(const int32_t *, const dw_k_t *, const int8_t *, int32_t, int8_t *);

typedef struct {
    dw_k_t k;           /* bias (doubled in the fast modes), fast requantization, output side */
    int32_t shift;      /* tm_mbqm requantization (DW_RQ_GENERIC) */
    int32_t mode;       /* DW_RQ_* */
    int32_t w3[5];      /* 3x3: (w00, w02), (w10, w12), (w20, w22), (w01, w11), (w21, 0) */
    int32_t wq[DW_WORDS_MAX][2]; /* word kernel: per kernel line and word, the (even, odd) pairs */
    const int8_t *filter;        /* filter + c */
} dw_plane_t;

/* Per call: the activation, output offset and rounding; `out` the per-call part of dw_k_t. */
typedef struct {
    int32_t lo, hi, full, offset, ch, nq;
    int32_t fast_ok, bias_lim; /* the output offset allows the fast requantization; |folded bias| bound */
    tinyml_rounding_t rounding;
    dw_k_t out;
    dw_fn_t fn1, fn2;  /* DSP 3x3 steps of one / two lines for the fast requantization */
    int32_t pair_bytes; /* window bytes between the pairs of fn1 / fn2 */
} dw_call_t;

static inline int32_t bytes4(int32_t b) { return (int32_t)((uint32_t)(uint8_t)b * 0x01010101u); }

/* Weight of kernel line i, tap j along the line. */
static inline int32_t plane_w(const dw_geom_t *g, const dw_call_t *k, const dw_plane_t *pl, int32_t i, int32_t j)
{
    return pl->filter[(size_t)(i * g->w_line + j * g->w_step) * (size_t)k->ch];
}

static void plane_init(const tinyml_depthwise_conv2d_params_t *p, const dw_geom_t *g, const dw_call_t *k,
                       const int8_t *filter, const int32_t *folded_bias, int32_t c, dw_plane_t *pl)
{
    const int32_t m = p->quant.multiplier[c], shift = p->quant.shift[c], fb = folded_bias[c];
    pl->filter = filter + c;
    pl->shift = shift;
    /* |accumulator| <= |folded bias| + 128 * 128 * taps must stay below 2^30 for the doubling */
    const int fast = k->fast_ok && m >= 0 && (uint32_t)(shift + 21) <= 20u && fb < k->bias_lim && fb > -k->bias_lim;
    pl->mode = !fast ? DW_RQ_GENERIC : TM_ROUNDING(k->rounding) == TINYML_ROUND_DOUBLE ? DW_RQ_DOUBLE : DW_RQ_SINGLE;
    pl->k = k->out;
    pl->k.bias = fast ? (int32_t)((uint32_t)fb << 1) : fb;
    pl->k.m = m;
    pl->k.e = fast ? -shift : 0;
    pl->k.h = fast ? (int32_t)((uint32_t)(2 * k->offset + 1) << (-shift - 1)) : 0;
    const int32_t scale = fast ? 2 : 1;
    if (fast && g->kernel >= DW_K_3X3S2) {
        const int8_t *f = pl->filter;
        const int32_t ch = k->ch, sl = g->w_line * ch, sx = g->w_step * ch;
        pl->w3[0] = tm_pkhbt(2 * f[0], 2 * f[2 * sx]);
        pl->w3[1] = tm_pkhbt(2 * f[sl], 2 * f[sl + 2 * sx]);
        pl->w3[2] = tm_pkhbt(2 * f[2 * sl], 2 * f[2 * sl + 2 * sx]);
        pl->w3[3] = tm_pkhbt(2 * f[sx], 2 * f[sl + sx]);
        pl->w3[4] = tm_pkhbt(2 * f[2 * sl + sx], 0);
    } else if (g->kernel != DW_K_SCALAR) {
        for (int32_t i = 0, n = 0; i < g->k_l; ++i) {
            for (int32_t q = 0; q < k->nq; ++q, ++n) {
                int32_t w[4];
                for (int32_t t = 0; t < 4; ++t) {
                    const int32_t j = 4 * q + t;
                    w[t] = j < g->k_x ? scale * plane_w(g, k, pl, i, j) : 0;
                }
                pl->wq[n][0] = tm_pkhbt(w[0], w[2]);
                pl->wq[n][1] = tm_pkhbt(w[1], w[3]);
            }
        }
    }
}

/* ---- output side (C) ------------------------------------------------------ */

/* The requantized accumulator plus the output offset, saturated to int8 (not yet clamped to
 * the activation). `mode` is a compile-time constant wherever this is inlined. */
DW_INLINE int32_t dw_requant(const dw_plane_t *pl, const dw_call_t *k, int32_t acc, int mode)
{
    if (mode == DW_RQ_DOUBLE) {
        return tm_ssat8(tm_smmlar(acc, pl->k.m, pl->k.h + (acc >> 31)) >> pl->k.e);
    }
    if (mode == DW_RQ_SINGLE) {
        return tm_ssat8(tm_smmla(acc, pl->k.m, pl->k.h) >> pl->k.e);
    }
    return tm_ssat8(tm_wadd(tm_mbqm(acc, pl->k.m, pl->shift, TM_ROUNDING(k->rounding)), k->offset));
}

DW_INLINE int8_t dw_out(const dw_plane_t *pl, const dw_call_t *k, int32_t acc)
{
    int32_t v;
    if (pl->mode == DW_RQ_DOUBLE) {
        v = dw_requant(pl, k, acc, DW_RQ_DOUBLE);
    } else if (pl->mode == DW_RQ_SINGLE) {
        v = dw_requant(pl, k, acc, DW_RQ_SINGLE);
    } else {
        v = dw_requant(pl, k, acc, DW_RQ_GENERIC);
    }
    return (int8_t)tm_clamp(v, k->lo, k->hi);
}

/* ---- line kernels (C) ------------------------------------------------------
 * `rows`: the window line of kernel line 0 at the line's first output, the other kernel
 * lines rs bytes apart; n outputs to dst, `step` bytes apart. */

#define DW_3X3_ROW(ptr, W, M, BOT)                                 \
    do {                                                           \
        const int32_t a_ = tm_load_s8x4(ptr);                      \
        const int32_t e_ = tm_sxtb16(a_), o_ = tm_sxtb16_ror8(a_); \
        acc0 = tm_smlad(e_, W, acc0);                              \
        if (S2) {                                                  \
            acc1 = tm_smlad(tm_sxtb16(tm_load_s8x4(ptr + 2)), W, acc1); \
        } else {                                                   \
            acc1 = tm_smlad(o_, W, acc1);                          \
        }                                                          \
        if (BOT) {                                                 \
            acc0 = tm_smlabb(o_, M, acc0);                         \
            acc1 = S2 ? tm_smlatb(o_, M, acc1) : tm_smlatb(e_, M, acc1); \
        } else {                                                   \
            acc0 = tm_smlabt(o_, M, acc0);                         \
            acc1 = S2 ? tm_smlatt(o_, M, acc1) : tm_smlatt(e_, M, acc1); \
        }                                                          \
    } while (0)

/* 3x3 along a line with stride 1 (S2 = 0) or 2 (S2 = 1), the fast requantization (the
 * portable version of the DSP loops below). */
DW_INLINE void line_3x3_c(const dw_plane_t *pl, const dw_call_t *k, const int8_t *rows, int32_t rs, int8_t *dst,
                          int32_t step, int32_t n, const int S2)
{
    const int32_t w0 = pl->w3[0], w1 = pl->w3[1], w2 = pl->w3[2], m01 = pl->w3[3], m2 = pl->w3[4];
    for (; n > 0; n -= 2, rows += S2 ? 4 : 2, dst += 2 * step) {
        int32_t acc0 = pl->k.bias, acc1 = pl->k.bias;
        DW_3X3_ROW(rows, w0, m01, 1);
        DW_3X3_ROW(rows + rs, w1, m01, 0);
        DW_3X3_ROW(rows + 2 * rs, w2, m2, 1);
        const int dbl = pl->mode == DW_RQ_DOUBLE;
        const int32_t v0 = dbl ? dw_requant(pl, k, acc0, DW_RQ_DOUBLE) : dw_requant(pl, k, acc0, DW_RQ_SINGLE);
        dst[0] = (int8_t)tm_clamp(v0, k->lo, k->hi);
        if (n == 1) {
            break;
        }
        const int32_t v1 = dbl ? dw_requant(pl, k, acc1, DW_RQ_DOUBLE) : dw_requant(pl, k, acc1, DW_RQ_SINGLE);
        dst[step] = (int8_t)tm_clamp(v1, k->lo, k->hi);
    }
}

/* Any kernel width, dilation 1 along the line, stride s_x: a word of 4 taps per SMLAD pair. */
#if DW_PORTABLE_STEP
static void line_words(const dw_geom_t *g, const dw_call_t *k, const dw_plane_t *pl, const int8_t *rows, int32_t rs,
                       int8_t *dst, int32_t n)
{
    const int32_t nq = k->nq, k_l = g->k_l, s_x = g->s_x, step = g->out_step;
    for (int32_t ox = 0; ox < n; ++ox, rows += s_x, dst += step) {
        int32_t acc = pl->k.bias;
        const int32_t(*w)[2] = pl->wq;
        const int8_t *r = rows;
        for (int32_t i = 0; i < k_l; ++i, r += rs) {
            for (int32_t q = 0; q < nq; ++q, ++w) {
                const int32_t a = tm_load_s8x4(r + 4 * q);
                acc = tm_smlad(tm_sxtb16(a), (*w)[0], acc);
                acc = tm_smlad(tm_sxtb16_ror8(a), (*w)[1], acc);
            }
        }
        *dst = dw_out(pl, k, acc);
    }
}

/* Anything: scalar taps. */
static void line_scalar(const dw_geom_t *g, const dw_call_t *k, const dw_plane_t *pl, const int8_t *rows, int32_t rs,
                        int8_t *dst, int32_t n)
{
    const int32_t scale = pl->mode == DW_RQ_GENERIC ? 1 : 2;
    for (int32_t ox = 0; ox < n; ++ox, dst += g->out_step) {
        uint32_t acc = (uint32_t)pl->k.bias;
        const int8_t *r = rows + ox * g->s_x;
        for (int32_t i = 0; i < g->k_l; ++i, r += rs) {
            for (int32_t j = 0; j < g->k_x; ++j) {
                acc += (uint32_t)(r[j * g->d_x] * scale * plane_w(g, k, pl, i, j));
            }
        }
        *dst = dw_out(pl, k, (int32_t)acc);
    }
}
#endif /* DW_PORTABLE_STEP */

/* ---- line kernels (DSP) ----------------------------------------------------
 * GCC's own allocation of the intrinsics spills most of the weights, so the 3x3 loops are
 * written out, one asm statement per function. Registers: the five weight words, the row
 * pointer, the kernel line distance, dst (except for two lines) and the accumulators and
 * temporaries, 13 registers plus the base register of the plane's constants (`dw_k_t`: bias,
 * requantization, activation, steps, loop end), which are one LDR each. Instructions per
 * pair step (DOUBLE; SINGLE saves 1 per output; the activation clamp adds 12 or 8):
 *   two lines, stride 1: 4 x (LDR + 2 SXTB16) + 24 MACs + 5, requantization 22, stores 10,
 *     loop 3: 76 for 36 MACs;
 *   one line, stride 1: 3 x (LDR + 2 SXTB16 + 4 MACs) + 2, 12, 4, 3: 43 for 18 MACs;
 *   one line, stride 2: 3 x (2 LDR + 3 SXTB16 + 4 MACs) + 2 ADD + 3, 12, 4, 3: 51 for 18.
 * An odd line ends with one more pair step, of which only the first output is stored. */
#if TINYML_HAVE_DSP && defined(__GNUC__)
#define DW_DSP 1

/* one kernel row against one word: pair (W, M's half B0 / B1) */
#define DW_ROW(AC0, AC1, W, M, B0, B1)                        \
    "smlad  %[" AC0 "], %[t1], %[" W "], %[" AC0 "]\n\t"      \
    "smlad  %[" AC1 "], %[t0], %[" W "], %[" AC1 "]\n\t"      \
    "smla" B0 " %[" AC0 "], %[t0], %[" M "], %[" AC0 "]\n\t"  \
    "smla" B1 " %[" AC1 "], %[t1], %[" M "], %[" AC1 "]\n\t"
#define DW_WIDEN "sxtb16 %[t1], %[t0]\n\t" "sxtb16 %[t0], %[t0], ror #8\n\t"

/* two lines, stride 1: window lines p, p + rs, p + 2 rs, p + 3 rs */
#define DW_MACS_2L                                              \
    "ldr    %[t0], [%[p]]\n\t"                                  \
    "ldr    %[a1], %[bias]\n\t" DW_WIDEN                        \
    "smlad  %[a0], %[t1], %[w0], %[a1]\n\t"                     \
    "smlad  %[a1], %[t0], %[w0], %[a1]\n\t"                     \
    "smlabb %[a0], %[t0], %[m01], %[a0]\n\t"                    \
    "smlatb %[a1], %[t1], %[m01], %[a1]\n\t"                    \
    "ldr    %[t0], [%[p], %[rs]]\n\t"                           \
    "ldr    %[a3], %[bias]\n\t" DW_WIDEN                        \
    DW_ROW("a0", "a1", "w1", "m01", "bt", "tt")                 \
    "smlad  %[a2], %[t1], %[w0], %[a3]\n\t"                     \
    "smlad  %[a3], %[t0], %[w0], %[a3]\n\t"                     \
    "smlabb %[a2], %[t0], %[m01], %[a2]\n\t"                    \
    "smlatb %[a3], %[t1], %[m01], %[a3]\n\t"                    \
    "ldr    %[t0], [%[p], %[rs], lsl #1]\n\t" DW_WIDEN          \
    DW_ROW("a0", "a1", "w2", "m2", "bb", "tb")                  \
    DW_ROW("a2", "a3", "w1", "m01", "bt", "tt")                 \
    "add    %[t0], %[p], %[rs], lsl #1\n\t"                     \
    "ldr    %[t0], [%[t0], %[rs]]\n\t" DW_WIDEN                 \
    DW_ROW("a2", "a3", "w2", "m2", "bb", "tb")                  \
    "add    %[p], %[p], #2\n\t"
/* one line, stride 1 */
#define DW_MACS_1L                                              \
    "ldr    %[t0], [%[p]]\n\t"                                  \
    "ldr    %[a1], %[bias]\n\t" DW_WIDEN                        \
    "smlad  %[a0], %[t1], %[w0], %[a1]\n\t"                     \
    "smlad  %[a1], %[t0], %[w0], %[a1]\n\t"                     \
    "smlabb %[a0], %[t0], %[m01], %[a0]\n\t"                    \
    "smlatb %[a1], %[t1], %[m01], %[a1]\n\t"                    \
    "ldr    %[t0], [%[p], %[rs]]\n\t" DW_WIDEN                  \
    DW_ROW("a0", "a1", "w1", "m01", "bt", "tt")                 \
    "ldr    %[t0], [%[p], %[rs], lsl #1]\n\t" DW_WIDEN          \
    DW_ROW("a0", "a1", "w2", "m2", "bb", "tb")                  \
    "add    %[p], %[p], #2\n\t"
/* one line, stride 2: output 1 takes taps 0 and 2 from the word 2 bytes on (its even bytes),
 * tap 1 from o's top half. ADDR0 / ADDR1 address the row's two words; t1 may serve ADDR1. */
#define DW_ROW_S2(ADDR0, SETUP1, ADDR1, W, M, B0, B1)           \
    "ldr    %[t0], " ADDR0 "\n\t" DW_WIDEN                      \
    "smlad  %[a0], %[t1], %[" W "], %[a0]\n\t" SETUP1           \
    "smla" B0 " %[a0], %[t0], %[" M "], %[a0]\n\t"              \
    "smla" B1 " %[a1], %[t0], %[" M "], %[a1]\n\t"              \
    "ldr    %[t0], " ADDR1 "\n\t"                               \
    "sxtb16 %[t0], %[t0]\n\t"                                   \
    "smlad  %[a1], %[t0], %[" W "], %[a1]\n\t"
#define DW_MACS_S2                                              \
    "ldr    %[a0], %[bias]\n\t"                                 \
    "mov    %[a1], %[a0]\n\t"                                   \
    DW_ROW_S2("[%[p]]", "", "[%[p], #2]", "w0", "m01", "bb", "tb") \
    DW_ROW_S2("[%[p], %[rs]]", "add    %[t1], %[p], #2\n\t", "[%[t1], %[rs]]", "w1", "m01", "bt", "tt") \
    DW_ROW_S2("[%[p], %[rs], lsl #1]", "add    %[t1], %[p], #2\n\t", "[%[t1], %[rs], lsl #1]", "w2", "m2", "bb", "tb") \
    "add    %[p], %[p], #4\n\t"

/* a = SSAT8(requantized a): DOUBLE needs h + sign(a) per output; t1 holds m */
#define DW_RQ_D(A) "ldr    %[t0], %[h]\n\t" "add    %[t0], %[t0], %[" A "], asr #31\n\t" \
                   "smmlar %[" A "], %[" A "], %[t1], %[t0]\n\t"
#define DW_RQ_S(A) "smmla  %[" A "], %[" A "], %[t1], %[t0]\n\t"
#define DW_SH(A) "asr    %[" A "], %[" A "], %[t0]\n\t"
#define DW_SAT(A) "ssat   %[" A "], #8, %[" A "]\n\t"
#define DW_RQ2_DOUBLE "ldr    %[t1], %[m]\n\t" DW_RQ_D("a0") DW_RQ_D("a1") \
    "ldr    %[t0], %[e]\n\t" DW_SH("a0") DW_SH("a1") DW_SAT("a0") DW_SAT("a1")
#define DW_RQ2_SINGLE "ldr    %[t1], %[m]\n\t" "ldr    %[t0], %[h]\n\t" DW_RQ_S("a0") DW_RQ_S("a1") \
    "ldr    %[t0], %[e]\n\t" DW_SH("a0") DW_SH("a1") DW_SAT("a0") DW_SAT("a1")
#define DW_RQ4_DOUBLE "ldr    %[t1], %[m]\n\t" DW_RQ_D("a0") DW_RQ_D("a1") DW_RQ_D("a2") DW_RQ_D("a3") \
    "ldr    %[t0], %[e]\n\t" DW_SH("a0") DW_SH("a1") DW_SH("a2") DW_SH("a3")                      \
    DW_SAT("a0") DW_SAT("a1") DW_SAT("a2") DW_SAT("a3")
#define DW_RQ4_SINGLE "ldr    %[t1], %[m]\n\t" "ldr    %[t0], %[h]\n\t"                            \
    DW_RQ_S("a0") DW_RQ_S("a1") DW_RQ_S("a2") DW_RQ_S("a3")                                       \
    "ldr    %[t0], %[e]\n\t" DW_SH("a0") DW_SH("a1") DW_SH("a2") DW_SH("a3")                      \
    DW_SAT("a0") DW_SAT("a1") DW_SAT("a2") DW_SAT("a3")

/* the activation: the outputs in the bytes of a0, per byte max(lo), min(hi), back out */
#define DW_MAXMIN                                               \
    "ldr    %[t0], %[lo4]\n\t"                                  \
    "ssub8  %[t1], %[a0], %[t0]\n\t"                            \
    "sel    %[a0], %[a0], %[t0]\n\t"                            \
    "ldr    %[t0], %[hi4]\n\t"                                  \
    "ssub8  %[t1], %[a0], %[t0]\n\t"                            \
    "sel    %[a0], %[t0], %[a0]\n\t"
#define DW_CLAMP2 "bfi    %[a0], %[a1], #8, #8\n\t" DW_MAXMIN "lsr    %[a1], %[a0], #8\n\t"
#define DW_CLAMP4 "bfi    %[a0], %[a1], #8, #8\n\t" "bfi    %[a0], %[a2], #16, #8\n\t"   \
    "bfi    %[a0], %[a3], #24, #8\n\t" DW_MAXMIN "lsr    %[a1], %[a0], #8\n\t"         \
    "lsr    %[a2], %[a0], #16\n\t" "lsr    %[a3], %[a0], #24\n\t"
/* ... or only when k.clamp says so */
#define DW_IF_CLAMP(C) "ldr    %[t0], %[clamp]\n\t" "cbz    %[t0], 2f\n\t" C "2:\n\t"

#define DW_STORE2 "ldr    %[t0], %[step]\n\t" "strb   %[a0], [%[d]]\n\t" "strb   %[a1], [%[d], %[t0]]\n\t" \
    "add    %[d], %[d], %[t0], lsl #1\n\t"
/* two lines: dst lives on the stack (13 registers are all GCC gives an asm statement) */
#define DW_STORE4                                               \
    "ldr    %[t1], %[dm]\n\t"                                   \
    "ldr    %[t0], %[step]\n\t"                                 \
    "strb   %[a0], [%[t1]]\n\t"                                 \
    "strb   %[a1], [%[t1], %[t0]]\n\t"                          \
    "ldr    %[a0], %[lstep]\n\t"                                \
    "strb   %[a2], [%[t1], %[a0]]\n\t"                          \
    "add    %[a1], %[a0], %[t0]\n\t"                            \
    "strb   %[a3], [%[t1], %[a1]]\n\t"                          \
    "add    %[t1], %[t1], %[t0], lsl #1\n\t"                    \
    "str    %[t1], %[dm]\n\t"
/* the last output of an odd line: the pair computed, its first output stored */
#define DW_STORE1 "strb   %[a0], [%[d]]\n\t"
#define DW_STORE1_2L "ldr    %[t0], %[dm]\n\t" "ldr    %[t1], %[lstep]\n\t" "strb   %[a0], [%[t0]]\n\t" \
    "strb   %[a2], [%[t0], %[t1]]\n\t"

#define DW_MEM                                                                                             \
    [bias] "m"(kp->bias), [h] "m"(kp->h), [m] "m"(kp->m), [e] "m"(kp->e), [step] "m"(kp->step),            \
        [lstep] "m"(kp->lstep), [lo4] "m"(kp->lo4), [hi4] "m"(kp->hi4), [clamp] "m"(kp->clamp),             \
        [odd] "m"(kp->odd), [end] "m"(kp->end)
#define DW_W [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [m01] "r"(m01), [m2] "r"(m2)
/* t0 is a low register for CBZ */
#define DW_OPS_2L                                                                                          \
    : [p] "+r"(p), [dm] "+m"(d), [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),           \
      [t0] "=&l"(t0), [t1] "=&r"(t1)                                                                       \
    : DW_W, [rs] "r"(rs), DW_MEM                                                                           \
    : "cc", "memory"
#define DW_OPS_1L                                                                                          \
    : [p] "+r"(p), [d] "+r"(d), [a0] "=&r"(a0), [a1] "=&r"(a1), [t0] "=&l"(t0), [t1] "=&r"(t1)             \
    : DW_W, [rs] "r"(rs), DW_MEM                                                        \
    : "cc", "memory"
#define DW_OPS_S2                                                                                          \
    : [p] "+r"(p), [d] "+r"(d), [a0] "=&r"(a0), [a1] "=&r"(a1), [t0] "=&l"(t0), [t1] "=&r"(t1)             \
    : DW_W, [rs] "r"(rs), DW_MEM                                                                           \
    : "cc", "memory"

/* A step: the pair loop (none if p == end), then, if `odd`, the last output of each line
 * (a pair computed, its first output stored). */
#define DW_STEP(MACS, RQ, CL, STORE, STORE1)                                                   \
    "ldr    %[t0], %[end]\n\t" "cmp    %[p], %[t0]\n\t" "beq    8f\n\t"                          \
    "1:\n\t" MACS RQ CL STORE "ldr    %[t0], %[end]\n\t" "cmp    %[p], %[t0]\n\t" "bne    1b\n\t" \
    "8:\n\t" "ldr    %[t0], %[odd]\n\t" "cmp    %[t0], #0\n\t" "beq    9f\n\t" MACS RQ CL STORE1 "9:\n\t"

/* Each asm statement in a function of its own: nothing else is live across it, so GCC can
 * give it the 13 registers plus the base register of *kp. */
#define DW_FN(NAME, TEXT, OPS)                                                                            \
    DW_NOINLINE static void NAME(const int32_t *w, const dw_k_t *kp, const int8_t *p, int32_t rs, int8_t *d) \
    {                                                                                                     \
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], m01 = w[3], m2 = w[4];                             \
        int32_t a0, a1, a2, a3, t0, t1;                                                                   \
        (void)a2;                                                                                         \
        (void)a3;                                                                                         \
        __asm__ volatile(TEXT OPS);                                                                       \
    }
/* Build flags leave steps out; none changes a result (tinyml sets them from the network,
 * codegen/build.py): TINYML_DW_INPLACE_ALWAYS_CLAMP drops the double-rounding steps without a
 * clamp (a clamp to -128..127 is exact for those layers too), TINYML_DW_INPLACE_NO_CLAMP the
 * ones with a clamp, TINYML_DW_INPLACE_NO_S2 the stride-2 steps (a layer that would have
 * used a left-out step runs the portable step, run_step(), or without it plane_plain()). */
#if defined(TINYML_DW_INPLACE_ALWAYS_CLAMP) && defined(TINYML_DW_INPLACE_NO_CLAMP)
#error "define at most one of TINYML_DW_INPLACE_ALWAYS_CLAMP and TINYML_DW_INPLACE_NO_CLAMP"
#endif
#if !defined(TINYML_DW_INPLACE_ALWAYS_CLAMP)
DW_FN(dw_2l_double, DW_STEP(DW_MACS_2L, DW_RQ4_DOUBLE, "", DW_STORE4, DW_STORE1_2L), DW_OPS_2L)
DW_FN(dw_1l_double, DW_STEP(DW_MACS_1L, DW_RQ2_DOUBLE, "", DW_STORE2, DW_STORE1), DW_OPS_1L)
#endif
#if !defined(TINYML_DW_INPLACE_NO_CLAMP)
DW_FN(dw_2l_double_clamp, DW_STEP(DW_MACS_2L, DW_RQ4_DOUBLE, DW_CLAMP4, DW_STORE4, DW_STORE1_2L), DW_OPS_2L)
DW_FN(dw_1l_double_clamp, DW_STEP(DW_MACS_1L, DW_RQ2_DOUBLE, DW_CLAMP2, DW_STORE2, DW_STORE1), DW_OPS_1L)
#endif
DW_FN(dw_2l_single, DW_STEP(DW_MACS_2L, DW_RQ4_SINGLE, DW_IF_CLAMP(DW_CLAMP4), DW_STORE4, DW_STORE1_2L), DW_OPS_2L)
DW_FN(dw_1l_single, DW_STEP(DW_MACS_1L, DW_RQ2_SINGLE, DW_IF_CLAMP(DW_CLAMP2), DW_STORE2, DW_STORE1), DW_OPS_1L)
#if !defined(TINYML_DW_INPLACE_NO_S2)
DW_FN(dw_s2_double, DW_STEP(DW_MACS_S2, DW_RQ2_DOUBLE, DW_IF_CLAMP(DW_CLAMP2), DW_STORE2, DW_STORE1), DW_OPS_S2)
DW_FN(dw_s2_single, DW_STEP(DW_MACS_S2, DW_RQ2_SINGLE, DW_IF_CLAMP(DW_CLAMP2), DW_STORE2, DW_STORE1), DW_OPS_S2)
#endif


#else
#define DW_DSP 0
#endif

/* ---- the window ----------------------------------------------------------- */

/* n bytes step apart from src into dst (any alignment). */
DW_INLINE void gather_s8(int8_t *dst, const int8_t *src, int32_t n, int32_t step)
{
    const int32_t step2 = 2 * step, step3 = 3 * step, step4 = 4 * step;
    for (; n >= 4; n -= 4, dst += 4, src += step4) {
        const uint32_t w = (uint32_t)(uint8_t)src[0] | (uint32_t)(uint8_t)src[step] << 8 |
                           (uint32_t)(uint8_t)src[step2] << 16 | (uint32_t)(uint8_t)src[step3] << 24;
        tm_store_s8x4(dst, (int32_t)w);
    }
    for (; n > 0; --n, src += step) {
        *dst++ = *src;
    }
}

/* How a data line of the plane becomes a window line: `left` zero points, `copy` pixels
 * `step` bytes apart, `right` zero points. */
typedef struct {
    int32_t left, copy, right, step, zp;
} dw_line_t;

/* One padded data line from src into dst. */
DW_NOINLINE static void fill_data_line(int8_t *dst, const int8_t *src, const dw_line_t *ln)
{
#if DW_DSP
    /* the gather: 8 bytes in 20 instructions (8 LDRB, 6 ORR, 2 STR, 2 ADD, the loop) */
    int32_t n, c8, b0, b1, b2, b3, st3;
    const int8_t *s4;
    __asm__ volatile("ldr    %[b0], %[zp]\n\t"
                     "ldr    %[n], %[left]\n\t"
                     "cbz    %[n], 2f\n\t"
                     "1:\n\t"
                     "strb   %[b0], [%[d]], #1\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "bne    1b\n\t"
                     "2:\n\t"
                     "ldr    %[n], %[copy]\n\t"
                     "add    %[st3], %[st], %[st], lsl #1\n\t"
                     "lsrs   %[c8], %[n], #3\n\t"
                     "beq    4f\n\t"
                     "add    %[s4], %[s], %[st], lsl #2\n\t"
                     "3:\n\t"
                     "ldrb   %[b0], [%[s]]\n\t"
                     "ldrb   %[b1], [%[s], %[st]]\n\t"
                     "ldrb   %[b2], [%[s], %[st], lsl #1]\n\t"
                     "ldrb   %[b3], [%[s], %[st3]]\n\t"
                     "orr    %[b0], %[b0], %[b1], lsl #8\n\t"
                     "orr    %[b0], %[b0], %[b2], lsl #16\n\t"
                     "orr    %[b0], %[b0], %[b3], lsl #24\n\t"
                     "str    %[b0], [%[d]], #4\n\t"
                     "ldrb   %[b0], [%[s4]]\n\t"
                     "ldrb   %[b1], [%[s4], %[st]]\n\t"
                     "ldrb   %[b2], [%[s4], %[st], lsl #1]\n\t"
                     "ldrb   %[b3], [%[s4], %[st3]]\n\t"
                     "add    %[s], %[s], %[st], lsl #3\n\t"
                     "add    %[s4], %[s4], %[st], lsl #3\n\t"
                     "orr    %[b0], %[b0], %[b1], lsl #8\n\t"
                     "orr    %[b0], %[b0], %[b2], lsl #16\n\t"
                     "orr    %[b0], %[b0], %[b3], lsl #24\n\t"
                     "str    %[b0], [%[d]], #4\n\t"
                     "subs   %[c8], %[c8], #1\n\t"
                     "bne    3b\n\t"
                     "4:\n\t"
                     "tst    %[n], #4\n\t"
                     "beq    5f\n\t"
                     "ldrb   %[b0], [%[s]]\n\t"
                     "ldrb   %[b1], [%[s], %[st]]\n\t"
                     "ldrb   %[b2], [%[s], %[st], lsl #1]\n\t"
                     "ldrb   %[b3], [%[s], %[st3]]\n\t"
                     "add    %[s], %[s], %[st], lsl #2\n\t"
                     "orr    %[b0], %[b0], %[b1], lsl #8\n\t"
                     "orr    %[b0], %[b0], %[b2], lsl #16\n\t"
                     "orr    %[b0], %[b0], %[b3], lsl #24\n\t"
                     "str    %[b0], [%[d]], #4\n\t"
                     "5:\n\t"
                     "ands   %[n], %[n], #3\n\t"
                     "beq    7f\n\t"
                     "6:\n\t"
                     "ldrb   %[b0], [%[s]]\n\t"
                     "add    %[s], %[s], %[st]\n\t"
                     "strb   %[b0], [%[d]], #1\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "bne    6b\n\t"
                     "7:\n\t"
                     "ldr    %[b0], %[zp]\n\t"
                     "ldr    %[n], %[right]\n\t"
                     "cbz    %[n], 9f\n\t"
                     "8:\n\t"
                     "strb   %[b0], [%[d]], #1\n\t"
                     "subs   %[n], %[n], #1\n\t"
                     "bne    8b\n\t"
                     "9:\n\t"
                     : [d] "+r"(dst), [s] "+r"(src), [n] "=&l"(n), [c8] "=&r"(c8), [b0] "=&r"(b0), [b1] "=&r"(b1),
                       [b2] "=&r"(b2), [b3] "=&r"(b3), [st3] "=&r"(st3), [s4] "=&r"(s4)
                     : [st] "r"(ln->step), [left] "m"(ln->left), [copy] "m"(ln->copy), [right] "m"(ln->right),
                       [zp] "m"(ln->zp)
                     : "cc", "memory");
#else
    const int8_t zp = (int8_t)ln->zp;
    for (int32_t i = ln->left; i > 0; --i) {
        *dst++ = zp;
    }
    gather_s8(dst, src, ln->copy, ln->step);
    dst += ln->copy;
    for (int32_t i = ln->right; i > 0; --i) {
        *dst++ = zp;
    }
#endif
}

static void fill_s8(int8_t *dst, int32_t n, int32_t word)
{
    for (; n >= 4; n -= 4, dst += 4) {
        tm_store_s8x4(dst, word);
    }
    for (; n > 0; --n) {
        *dst++ = (int8_t)word;
    }
}

static void move_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    /* dst < src: forward, every word read before the bytes it may overlap are written */
    for (; n >= 8; n -= 8, dst += 8, src += 8) {
        const int32_t a = tm_load_s8x4(src), b = tm_load_s8x4(src + 4);
        tm_store_s8x4(dst, a);
        tm_store_s8x4(dst + 4, b);
    }
    if (n >= 4) {
        tm_store_s8x4(dst, tm_load_s8x4(src));
        n -= 4, dst += 4, src += 4;
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

/* The C kernels of one step: `lines` output lines to dst from the window lines at `rows`. */
#if DW_PORTABLE_STEP
DW_NOINLINE static void run_step(const dw_geom_t *g, const dw_call_t *k, const dw_plane_t *pl, const int8_t *rows,
                                 int8_t *dst, int32_t lines)
{
    const int32_t rs = g->d_l * g->lb;
    for (int32_t i = 0; i < lines; ++i) {
        const int8_t *r = rows + (size_t)i * g->s_l * g->lb;
        int8_t *o = dst + (size_t)i * g->out_line_step;
#if !DW_DSP
        if (g->kernel >= DW_K_3X3S2 && pl->mode != DW_RQ_GENERIC) {
            line_3x3_c(pl, k, r, rs, o, g->out_step, g->out_len, g->kernel == DW_K_3X3S2);
            continue;
        }
#endif
        if (g->kernel != DW_K_SCALAR) {
            line_words(g, k, pl, r, rs, o, g->out_len);
        } else {
            line_scalar(g, k, pl, r, rs, o, g->out_len);
        }
    }
}
#endif /* DW_PORTABLE_STEP */

/* One channel plane through the window (the schedule above). Window offsets are bytes:
 * line `first` (the first one the step reads) at first_off, the next line to copy at next_off. */
static void plane_window(const dw_geom_t *g, const dw_call_t *k, dw_plane_t *pl, const int8_t *in, int8_t *out,
                         int8_t *win, int32_t zp4)
{
    const int32_t lb = g->lb, full = g->slots * lb, span = (g->k_l - 1) * g->d_l, s_l = g->s_l;
    const dw_line_t ln = {g->left, g->copy, g->right, g->in_step, zp4};
#if DW_DSP
    const int fast = k->fn1 != NULL && pl->mode != DW_RQ_GENERIC;
    const int32_t rs = g->d_l * lb, pair_span = k->pair_bytes * (g->out_len >> 1);
#endif
    int32_t first = -g->pad_l, next = first, first_off = 0, next_off = 0;
    for (int32_t L = 0, lines; L < g->out_lines; L += lines) {
        lines = g->two && L + 1 < g->out_lines ? 2 : 1;
        const int32_t target = g->plain_order ? first + span + (lines - 1) * s_l : step_target(g, L, lines);
        if (next < first) {
            next = first; /* every line in the window is dead */
            first_off = next_off = 0;
        }
        for (; next <= target; ++next, next_off += lb) {
            if (next_off == full) {
                move_s8(win, win + first_off, next_off - first_off);
                next_off -= first_off;
                first_off = 0;
            }
            if ((uint32_t)next < (uint32_t)g->in_lines) {
                fill_data_line(win + next_off, in + (size_t)next * g->in_line_step, &ln);
            } else {
                fill_s8(win + next_off, lb, zp4);
            }
        }
        const int8_t *rows = win + first_off;
        int8_t *dst = out + (size_t)L * g->out_line_step;
        first += lines * s_l;
        first_off += lines * s_l * lb;
#if DW_DSP
        if (fast) {
            pl->k.end = rows + pair_span;
            (lines == 2 ? k->fn2 : k->fn1)(pl->w3, &pl->k, rows, rs, dst);
            continue;
        }
#endif
#if DW_PORTABLE_STEP
        run_step(g, k, pl, rows, dst, lines);
#endif
    }
}

/* ---- whole-plane fallback (the reference's scheme) --------------------------
 * The taps inside the image only, with (x + input_offset) * w and the raw bias
 * (folded bias - input_offset * sum of the filter), as the reference. */
static void plane_plain(const tinyml_depthwise_conv2d_params_t *p, const int8_t *filter, int32_t fb,
                        const int8_t *plane, int8_t *out, int32_t c)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c, k_h = p->filter.h, k_w = p->filter.w;
    const int32_t dil_h = p->dilation.h, dil_w = p->dilation.w, off = p->input_offset;
    const int8_t *f = filter + c;
    uint32_t bias = (uint32_t)fb;
    for (int32_t t = 0; t < k_h * k_w; ++t) {
        bias -= (uint32_t)(off * f[t * ch]);
    }
    const int32_t m = p->quant.multiplier[c], shift = p->quant.shift[c];
    for (int32_t oy = 0; oy < p->output.h; ++oy) {
        const int32_t y0 = oy * p->stride.h - p->pad.h;
        /* kernel rows ky0 <= ky < ky1 are inside the image */
        int32_t ky0 = 0, ky1 = k_h;
        while (ky0 < k_h && y0 + ky0 * dil_h < 0) {
            ++ky0;
        }
        while (ky1 > ky0 && y0 + (ky1 - 1) * dil_h >= in_h) {
            --ky1;
        }
        for (int32_t ox = 0; ox < p->output.w; ++ox) {
            const int32_t x0 = ox * p->stride.w - p->pad.w;
            int32_t kx0 = 0, kx1 = k_w;
            while (kx0 < k_w && x0 + kx0 * dil_w < 0) {
                ++kx0;
            }
            while (kx1 > kx0 && x0 + (kx1 - 1) * dil_w >= in_w) {
                --kx1;
            }
            uint32_t acc = bias;
            for (int32_t ky = ky0; ky < ky1; ++ky) {
                const int32_t row = (y0 + ky * dil_h) * in_w + x0;
                const int8_t *wr = f + (size_t)ky * k_w * ch;
                for (int32_t kx = kx0; kx < kx1; ++kx) {
                    acc += (uint32_t)((plane[row + kx * dil_w] + off) * wr[kx * ch]);
                }
            }
            const int32_t r = tm_wadd(tm_mbqm((int32_t)acc, m, shift, TM_ROUNDING(p->rounding)), p->output_offset);
            out[((size_t)oy * p->output.w + ox) * ch] = (int8_t)tm_clamp(r, p->activation.min, p->activation.max);
        }
    }
}

/* The plane's orientation and steps for a window of `room` bytes into g; 0 if nothing fits. */
static int geom_choose(const tinyml_depthwise_conv2d_params_t *p, int32_t room, dw_geom_t *g)
{
    /* rows, two at a time where the kernel allows and the window has room */
    geom_init(p, 0, 1, room, g);
    if (!geom_fits(g)) {
        geom_init(p, 0, 0, room, g);
    }
    int fits = geom_fits(g);
    /* columns instead: when output columns land on input columns and are longer */
    if (p->output.w == p->input.w && p->output.h > p->output.w) {
        dw_geom_t t;
        int two = 1;
        geom_init(p, 1, two, room, &t);
        if (!geom_fits(&t)) {
            two = 0;
            geom_init(p, 1, two, room, &t);
        }
        if (geom_fits(&t) && (!fits || t.kernel >= g->kernel)) {
            /* t again, set up in place: a copy of the struct would link memcpy (308 B) */
            geom_init(p, 1, two, room, g);
            fits = 1;
        }
    }
    return fits;
}

/* ---- the kernel ------------------------------------------------------------ */
void tinyml_depthwise_conv2d_inplace_s8_fast(const tinyml_depthwise_conv2d_params_t *p, int8_t *buffer,
                                             const int8_t *filter, const int32_t *folded_bias, int8_t *scratch)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, ch = p->input.c;
    const int32_t out_h = p->output.h, out_w = p->output.w;
    if (out_h <= 0 || out_w <= 0 || ch <= 0) {
        return;
    }
    /* the window needs the zero point as a byte and an activation range inside int8 */
    const int sane = p->input_offset >= -127 && p->input_offset <= 128 && p->activation.min >= -128 &&
                     p->activation.min <= p->activation.max && p->activation.max <= 127;
    dw_geom_t g;
    int8_t local[DW_LOCAL_BYTES]; /* any alignment: word accesses are unaligned-safe */
    int8_t *win = scratch;
    int window = 0;
    if (sane) {
        if (in_h * in_w < DW_LOCAL_BYTES) {
            window = geom_choose(p, DW_LOCAL_BYTES, &g);
            win = local;
        } else {
            window = geom_choose(p, in_h * in_w, &g);
        }
    }
    dw_call_t k;
    k.lo = p->activation.min;
    k.hi = p->activation.max;
    k.full = k.lo == -128 && k.hi == 127;
    k.out.lo4 = bytes4(k.lo);
    k.out.hi4 = bytes4(k.hi);
    k.out.clamp = !k.full;
    k.out.step = window ? g.out_step : 0;
    k.out.lstep = window ? g.out_line_step : 0;
    k.offset = p->output_offset;
    k.ch = ch;
    k.rounding = TM_ROUNDING(p->rounding);
    k.nq = window ? (g.k_x + 3) >> 2 : 0;
    k.out.odd = window ? g.out_len & 1 : 0;
    k.fast_ok = k.offset >= -128 && k.offset <= 127;
    {
        const int64_t lim = ((int64_t)1 << 30) - ((int64_t)p->filter.h * p->filter.w << 14);
        k.bias_lim = lim > 0 ? (int32_t)lim : 0;
    }
    k.fn1 = k.fn2 = NULL;
    k.pair_bytes = 2;
#if DW_DSP
    if (window && g.kernel >= DW_K_3X3S2) {
        const int dbl = TM_ROUNDING(p->rounding) == TINYML_ROUND_DOUBLE;
        if (g.kernel == DW_K_3X3S2) {
#if !defined(TINYML_DW_INPLACE_NO_S2)
            k.fn1 = dbl ? dw_s2_double : dw_s2_single;
            k.pair_bytes = 4;
#endif
        } else {
#if defined(TINYML_DW_INPLACE_ALWAYS_CLAMP)
            k.fn1 = !dbl ? dw_1l_single : dw_1l_double_clamp;
            k.fn2 = !dbl ? dw_2l_single : dw_2l_double_clamp;
#elif defined(TINYML_DW_INPLACE_NO_CLAMP)
            if (!dbl || !k.out.clamp) {
                k.fn1 = !dbl ? dw_1l_single : dw_1l_double;
                k.fn2 = !dbl ? dw_2l_single : dw_2l_double;
            } else {
                g.kernel = DW_K_WORDS; /* the word steps, whose planes plane_init() sets up for them */
            }
#else
            k.fn1 = !dbl ? dw_1l_single : k.out.clamp ? dw_1l_double_clamp : dw_1l_double;
            k.fn2 = !dbl ? dw_2l_single : k.out.clamp ? dw_2l_double_clamp : dw_2l_double;
#endif
        }
    }
#endif
    const int32_t zp4 = bytes4(-p->input_offset);
    for (int32_t b = 0; b < p->output.n; ++b) {
        const int8_t *in_batch = buffer + (size_t)b * in_h * in_w * ch;
        int8_t *out_batch = buffer + (size_t)b * out_h * out_w * ch;
        for (int32_t c = 0; c < ch; ++c) {
            if (window) {
                dw_plane_t pl;
                plane_init(p, &g, &k, filter, folded_bias, c, &pl);
#if !DW_PORTABLE_STEP
                if (k.fn1 == NULL || pl.mode == DW_RQ_GENERIC) { /* no assembly step for this plane */
                    gather_s8(scratch, in_batch + c, in_h * in_w, ch);
                    plane_plain(p, filter, folded_bias[c], scratch, out_batch + c, c);
                    continue;
                }
#endif
                plane_window(&g, &k, &pl, in_batch + c, out_batch + c, win, zp4);
            } else {
                gather_s8(scratch, in_batch + c, in_h * in_w, ch);
                plane_plain(p, filter, folded_bias[c], scratch, out_batch + c, c);
            }
        }
    }
}
