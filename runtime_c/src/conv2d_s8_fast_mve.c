/*
 * CONV_2D, int8, per-channel requantization: the Helium (MVE, Cortex-M55)
 * build of tinyml_conv2d_s8_fast, bit-identical to tinyml_conv2d_s8 for any
 * kernel size, stride, dilation, padding, batch and channel count. Compiled
 * only with integer MVE; conv2d_s8_fast.c holds the other builds.
 *
 * Blocking. The output pixels (all batches, row-major) go two at a time, A
 * and B. Their patches (len = KH * KW * C_in values each, in the filter's
 * HWI order, a padded tap filled with the input zero point -input_offset)
 * are gathered into `scratch` (im2col), interleaved in chunks of 16: with
 * n = len / 16 and t = len % 16 the layout is
 *     A[0, 16) B[0, 16) | A[16, 32) B[16, 32) | ... | A[16n, 16n+t) B[16n, 16n+t)
 * (2 * len bytes), so one pointer walks both patches. With C_in % 16 == 0
 * every tap is whole chunks, one VLDRB / VSTRB each (cv_im2col_aligned);
 * otherwise a cursor stores each run of input bytes (a tap's C_in values, or
 * a whole patch row of KW * C_in values when the row is inside the image and
 * dilation.w is 1) piece by piece up to each chunk's end with a predicated
 * VLDRB / VSTRB pair (VCTP.8; cv_im2col). Then for every group of four
 * output channels a 2 pixels x 4 channels tile (tm_mve_tile_2x4 in
 * mve_matmul.h, in assembly, the pointwise kernel's too) accumulates over the
 * patch: 6 VLDRB.8 and 8 VMLADAVA.S8 per 16 values (128 MACs), the t-value
 * tail with the lanes beyond t predicated off. A C_out that is not a multiple of 4 ends with the group
 * of the last four channels (up to 3 are computed and stored twice, with the
 * same values); C_out < 4 runs each channel as a tile of four equal rows. An
 * odd last pixel's patch is copied into both halves; B's outputs are then
 * A's and are stored to the same place.
 *
 * Arithmetic. The accumulators hold sum(x * w) over raw int8 values (a
 * padded tap reads -input_offset and adds 0 once the fold is counted; the
 * reference skips it); adding folded_bias[c] = bias[c] + input_offset *
 * sum(filter[c]) gives the reference's sum((x + input_offset) * w) + bias
 * modulo 2^32. Four channels of a pixel are requantized at once exactly as
 * tm_mbqm (tm_mve_requant_2x4; the vector sequences and their proofs are in
 * mve_matmul.h):
 *   DOUBLE: VSHL by max(shift, 0), VQRDMULH, the ties-away fix-up (VAND,
 *           VSHR #31, VQADD), VRSHL by min(shift, 0);
 *   SINGLE with every shift <= -1: VRSHL(VQDMULH(x, m), shift);
 *   SINGLE otherwise: tm_mbqm per output.
 * Then the output offset, the activation clamp and a narrowing four-byte store.
 *
 * Scratch: tinyml_conv2d_s8_fast_scratch_size() = 2 * KH * KW * C_in bytes
 * (the size of the other builds), any alignment. The output must not overlap
 * the input or the scratch.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

#include <arm_mve.h>
#include <stdint.h>

#include "tinyml/kernels.h"
#include "tinyml/mve_matmul.h"

size_t tinyml_conv2d_s8_fast_scratch_size(const tinyml_conv2d_params_t *p)
{
    return (size_t)2 * (size_t)p->filter.h * (size_t)p->filter.w * (size_t)p->input.c;
}

/* The wide variant's scratch, as in the other builds (the plan is the same for every target):
 * 2 S bytes, S = 2 * KH * KW * C_in rounded up to a multiple of 4. This build needs no
 * widening; its wide entry point (at the end) is this kernel. */
size_t tinyml_conv2d_s8_fast_wide_scratch_size(const tinyml_conv2d_params_t *p)
{
    const size_t len = (size_t)p->filter.h * (size_t)p->filter.w * (size_t)p->input.c;
    return 2 * ((2 * len + 3u) & ~(size_t)3u);
}

/* cv_run's mode for C_out < 4, besides the three of tm_mve_rq_mode_t: each channel as a tile of four
 * equal rows */
enum { CV_RQ_ONE = TM_MVE_RQ_SCALAR + 1 };

/* ---- im2col into the interleaved layout -------------------------------- */

typedef struct {
    int32_t in_h, in_w, in_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t len;        /* patch length KH * KW * C_in */
    int32_t full;       /* len / 16: full chunks */
    int32_t tail;       /* len % 16 */
    int32_t row_bytes;  /* KW * C_in */
    int32_t span_h;     /* (KH - 1) * dilation.h + 1 */
    int32_t span_w;     /* (KW - 1) * dilation.w + 1 */
    size_t in_row;      /* bytes per input row */
    int8x16_t fill;     /* the input zero point in every lane */
} cv_geom_t;

/* k (0 .. 16) values from src, or `fillv` when `fill`, to d: one predicated load and store
 * (in assembly: GCC 12 moves each predicate through a core register and back). */
__attribute__((always_inline)) static inline void cv_piece(int8_t *d, const int8_t *src, int32_t k, int8x16_t fillv,
                                                           int fill)
{
    if (fill) {
        __asm__("vctp.8      %[k]\n\t"
                "vpst\n\t"
                "vstrbt.8    %q[v], [%[d]]"
                : "=m"(*(int8_t(*)[16])d)
                : [k] "r"(k), [v] "w"(fillv), [d] "r"(d)
                : "p0");
    } else {
        int8x16_t v;
        __asm__("vctp.8      %[k]\n\t"
                "vpstt\n\t"
                "vldrbt.8    %q[v], [%[s]]\n\t"
                "vstrbt.8    %q[v], [%[d]]"
                : [v] "=&w"(v), "=m"(*(int8_t(*)[16])d)
                : [k] "r"(k), [s] "r"(src), [d] "r"(d), "m"(*(const int8_t(*)[16])src)
                : "p0");
    }
}

/* Where the next patch value of one slot goes, in the interleaved layout: d, `room` bytes
 * left in the current chunk (16, or len % 16 in the tail), chunk index q; the slot's next
 * chunk starts 16 bytes after the current one's end, except B's tail, which follows A's
 * tail directly (`skip_to_tail`: 16 for A, len % 16 for B). */
typedef struct {
    int8_t *d;
    int32_t room, q;
} cv_cursor_t;

/* A run of n >= 1 patch values from src (step 1) or from a vector of the zero point (step
 * 0) at the cursor, piece by piece up to each chunk's end. */
__attribute__((always_inline)) static inline void cv_put(cv_cursor_t *c, int32_t full, int32_t tail,
                                                         int32_t skip_to_tail, const int8_t *src, int32_t n,
                                                         int8x16_t fillv, int fill)
{
    int8_t *d = c->d;
    int32_t room = c->room;
    do {
        const int32_t k = n < room ? n : room;
        cv_piece(d, src, k, fillv, fill);
        if (!fill) {
            src += k;
        }
        n -= k;
        room -= k;
        d += k;
        if (room == 0) {
            if (++c->q == full) {
                d += skip_to_tail;
                room = tail;
            } else {
                d += 16;
                room = 16;
            }
        }
    } while (n > 0);
    c->d = d;
    c->room = room;
}

/* The patch of the output pixel whose top-left tap is row y0, column x0 of `image`
 * into slot `slot` (0: A, 1: B) of s. */
static void cv_im2col(const cv_geom_t *g, const int8_t *image, int32_t y0, int32_t x0, int8_t *s, int32_t slot)
{
    const int32_t full = g->full, tail = g->tail, skip_to_tail = slot ? tail : 16;
    const int8x16_t fillv = g->fill;
    cv_cursor_t c;
    c.q = 0;
    c.d = s + (full ? 16 : tail) * slot;
    c.room = full ? 16 : tail;
    const int row_runs = g->dil_w == 1 && x0 >= 0 && x0 + g->span_w <= g->in_w;
    if (row_runs && y0 >= 0 && y0 + g->span_h <= g->in_h) { /* inside the image: every patch row is a run */
        const int8_t *row = image + (size_t)y0 * g->in_row + (size_t)x0 * g->in_c;
        const size_t row_step = (size_t)g->dil_h * g->in_row;
        const int32_t row_bytes = g->row_bytes;
        for (int32_t ky = g->k_h; ky > 0; --ky, row += row_step) {
            cv_put(&c, full, tail, skip_to_tail, row, row_bytes, fillv, 0);
        }
        return;
    }
    const int32_t in_h = g->in_h, in_w = g->in_w, in_c = g->in_c, k_w = g->k_w, dil_w = g->dil_w;
    for (int32_t ky = 0, iy = y0; ky < g->k_h; ++ky, iy += g->dil_h) {
        if ((uint32_t)iy >= (uint32_t)in_h) {
            cv_put(&c, full, tail, skip_to_tail, 0, g->row_bytes, fillv, 1);
            continue;
        }
        const int8_t *row = image + (size_t)iy * g->in_row;
        if (row_runs) {
            cv_put(&c, full, tail, skip_to_tail, row + (size_t)x0 * in_c, g->row_bytes, fillv, 0);
            continue;
        }
        for (int32_t kx = 0, ix = x0; kx < k_w; ++kx, ix += dil_w) {
            if ((uint32_t)ix >= (uint32_t)in_w) {
                cv_put(&c, full, tail, skip_to_tail, 0, in_c, fillv, 1);
            } else {
                cv_put(&c, full, tail, skip_to_tail, row + (size_t)ix * in_c, in_c, fillv, 0);
            }
        }
    }
}

/* cv_im2col for C_in % 16 == 0: every run is whole chunks (no tail), one VLDRB / VSTRB each. */
static void cv_im2col_aligned(const cv_geom_t *g, const int8_t *image, int32_t y0, int32_t x0, int8_t *s,
                              int32_t slot)
{
    const int32_t tap_chunks = g->in_c >> 4, row_chunks = g->row_bytes >> 4;
    const int8x16_t fill = g->fill;
    const int inside_x = x0 >= 0 && x0 + g->span_w <= g->in_w;
    int8_t *d = s + 16 * slot;
    if (inside_x && g->dil_w == 1 && y0 >= 0 && y0 + g->span_h <= g->in_h) { /* every row a run */
        const int8_t *row = image + (size_t)y0 * g->in_row + (size_t)x0 * g->in_c;
        const size_t row_step = (size_t)g->dil_h * g->in_row;
        for (int32_t ky = g->k_h; ky > 0; --ky, row += row_step) {
            const int8_t *src = row;
            for (int32_t k = row_chunks; k > 0; --k, d += 32, src += 16) {
                vstrbq_s8(d, vldrbq_s8(src));
            }
        }
        return;
    }
    for (int32_t ky = 0, iy = y0; ky < g->k_h; ++ky, iy += g->dil_h) {
        if ((uint32_t)iy >= (uint32_t)g->in_h) {
            for (int32_t k = row_chunks; k > 0; --k, d += 32) {
                vstrbq_s8(d, fill);
            }
            continue;
        }
        const int8_t *row = image + (size_t)iy * g->in_row;
        if (inside_x && g->dil_w == 1) {
            const int8_t *src = row + (size_t)x0 * g->in_c;
            for (int32_t k = row_chunks; k > 0; --k, d += 32, src += 16) {
                vstrbq_s8(d, vldrbq_s8(src));
            }
            continue;
        }
        for (int32_t kx = 0, ix = x0; kx < g->k_w; ++kx, ix += g->dil_w) {
            if ((uint32_t)ix >= (uint32_t)g->in_w) {
                for (int32_t k = tap_chunks; k > 0; --k, d += 32) {
                    vstrbq_s8(d, fill);
                }
            } else {
                const int8_t *src = row + (size_t)ix * g->in_c;
                for (int32_t k = tap_chunks; k > 0; --k, d += 32, src += 16) {
                    vstrbq_s8(d, vldrbq_s8(src));
                }
            }
        }
    }
}

/* Every output pixel pair, for one requantization mode (a constant; CV_RQ_ONE: C_out < 4). */
__attribute__((always_inline)) static inline void cv_run(const tinyml_conv2d_params_t *p, const cv_geom_t *g,
                                                         const tm_mve_out_t *o, int mode, const int8_t *input,
                                                         const int8_t *filter, int8_t *output, int8_t *scratch)
{
    const int32_t out_h = p->output.h, out_w = p->output.w, out_c = p->output.c, len = g->len;
    const int32_t pixels = p->output.n * out_h * out_w, last = out_c - 4;
    const size_t image_bytes = (size_t)g->in_h * g->in_row;
    void (*const gather)(const cv_geom_t *, const int8_t *, int32_t, int32_t, int8_t *, int32_t) =
        (g->in_c & 15) ? cv_im2col : cv_im2col_aligned;
    int32_t acc[8] __attribute__((aligned(16)));
    /* the position (batch b, row oy, column ox) of output pixel i, advanced pixel by pixel */
    int32_t b = 0, oy = 0, ox = 0;
    for (int32_t i = 0; i < pixels; i += 2) {
        const int two = i + 1 < pixels;
        for (int32_t slot = 0; slot < 1 + two; ++slot) {
            gather(g, input + (size_t)b * image_bytes, oy * g->stride_h - g->pad_h, ox * g->stride_w - g->pad_w,
                   scratch, slot);
            if (++ox == out_w) {
                ox = 0;
                if (++oy == out_h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        /* an odd last pixel: B's half is A's patch again, B's outputs are A's and go to the same place */
        int8_t *out_a = output + (size_t)i * out_c, *out_b = two ? out_a + out_c : out_a;
        if (!two) {
            for (int32_t k = 0; k < g->full; ++k) {
                vstrbq_s8(scratch + 32 * k + 16, vldrbq_s8(scratch + 32 * k));
            }
            if (g->tail) {
                int8_t *s_tail = scratch + 32 * g->full;
                const mve_pred16_t tail = vctp8q((uint32_t)g->tail);
                vstrbq_p_s8(s_tail + g->tail, vldrbq_z_s8(s_tail, tail), tail);
            }
        }
        if (mode == CV_RQ_ONE) { /* C_out < 4: each channel as a tile of four equal rows */
            for (int32_t c = 0; c < out_c; ++c) {
                tm_mve_tile_2x4(scratch, filter + (size_t)c * len, 0, len, acc);
                out_a[c] = tm_mve_requant1(o, c, acc[0]);
                out_b[c] = tm_mve_requant1(o, c, acc[4]);
            }
            continue;
        }
        const int8_t *w = filter;
        for (int32_t c = 0; c < last; c += 4, w += 4 * (size_t)len) {
            tm_mve_tile_2x4(scratch, w, len, len, acc);
            tm_mve_requant_2x4(o, (tm_mve_rq_mode_t)mode, c, acc, out_a, out_b);
        }
        /* the last four channels (recomputes up to 3 with C_out % 4 != 0) */
        tm_mve_tile_2x4(scratch, filter + (size_t)last * len, len, len, acc);
        tm_mve_requant_2x4(o, (tm_mve_rq_mode_t)mode, last, acc, out_a, out_b);
    }
}

void tinyml_conv2d_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                           const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    cv_geom_t g;
    g.in_h = p->input.h;
    g.in_w = p->input.w;
    g.in_c = p->input.c;
    g.k_h = p->filter.h;
    g.k_w = p->filter.w;
    g.stride_h = p->stride.h;
    g.stride_w = p->stride.w;
    g.dil_h = p->dilation.h;
    g.dil_w = p->dilation.w;
    g.pad_h = p->pad.h;
    g.pad_w = p->pad.w;
    g.len = g.k_h * g.k_w * g.in_c;
    g.full = g.len >> 4;
    g.tail = g.len & 15;
    g.row_bytes = g.k_w * g.in_c;
    g.span_h = (g.k_h - 1) * g.dil_h + 1;
    g.span_w = (g.k_w - 1) * g.dil_w + 1;
    g.in_row = (size_t)g.in_w * (size_t)g.in_c;
    g.fill = vdupq_n_s8((int8_t)(-p->input_offset));
    const tm_mve_out_t o = tm_mve_out(folded_bias, p->quant, 1, p->output.c, p->output_offset, p->activation,
                                      TM_ROUNDING(p->rounding));
    if (p->output.c < 4) {
        cv_run(p, &g, &o, CV_RQ_ONE, input, filter, output, scratch);
    } else if (o.mode == TM_MVE_RQ_DOUBLE) {
        cv_run(p, &g, &o, TM_MVE_RQ_DOUBLE, input, filter, output, scratch);
    } else if (o.mode == TM_MVE_RQ_SINGLE) {
        cv_run(p, &g, &o, TM_MVE_RQ_SINGLE, input, filter, output, scratch);
    } else {
        cv_run(p, &g, &o, TM_MVE_RQ_SCALAR, input, filter, output, scratch);
    }
}

void tinyml_conv2d_s8_fast_wide(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                                const int32_t *folded_bias, int8_t *output, int8_t *scratch)
{
    tinyml_conv2d_s8_fast(p, input, filter, folded_bias, output, scratch);
}

#endif /* __ARM_FEATURE_MVE & 1 */
