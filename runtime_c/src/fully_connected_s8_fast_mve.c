/*
 * FULLY_CONNECTED, int8, per-tensor or per-channel requantization: the Helium
 * (MVE, Cortex-M55) build of tinyml_fully_connected_s8_fast, bit-identical to
 * tinyml_fully_connected_s8 for any batch count, depth and unit count, with
 * both rounding contracts. Compiled only with integer MVE;
 * fully_connected_s8_fast.c holds the other builds.
 *
 * Requires filter_offset == 0 (symmetric int8 weights, as TFLite's int8
 * FULLY_CONNECTED; the compiler only selects this kernel then); the field is
 * not read.
 *
 * Blocking. Batches go one at a time, units four at a time: a 1 x 4 tile
 * (fc_tile_1x4, in assembly) runs a tail-predicated low-overhead loop
 * (DLSTP.8 / LETP) over the depth, 16 values a step: one input load, four
 * weight loads (VLDRB.8) and four 16-pair dot products into scalar
 * accumulators (VMLADAVA.S8), 10 instructions for 64 MACs; the last step's
 * lanes beyond the depth are predicated off by the loop itself (nothing is
 * read there). A unit count that is not a multiple of 4 ends with the group
 * of the last four units (up to 3 are computed and stored twice, with the
 * same values); fewer than 4 units run one at a time as a tile of four
 * equal rows.
 *
 * Arithmetic. The accumulators hold sum(x * w) over raw int8 values; adding
 * folded_bias[u] = bias[u] + input_offset * sum(weights[u]) gives the
 * reference's sum((x + input_offset) * w) + bias modulo 2^32. Four units are
 * requantized at once exactly as tm_mbqm (tm_mve_requant_1x4; the vector
 * sequences and their proofs are in mve_matmul.h, shared with the convolutions):
 *   DOUBLE: VSHL by max(shift, 0), VQRDMULH, the ties-away fix-up (VAND,
 *           VSHR #31, VQADD), VRSHL by min(shift, 0);
 *   SINGLE with every used shift <= -1: VRSHL(VQDMULH(x, m), shift);
 *   SINGLE otherwise: tm_mbqm per output.
 * Then the output offset, the activation clamp and a narrowing four-byte store.
 *
 * No scratch. Kernels never allocate. The output must not overlap the input.
 */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)

#include <arm_mve.h>
#include <stdint.h>

#include "tinyml/fixedpoint.h"
#include "tinyml/kernels.h"
#include "tinyml/mve_matmul.h"

/* acc[k] = x . row k over len values (len >= 1), row k at w + k * stride.
 * Registers: accumulators r0 r2 r4 r6 (VMLADAV needs even registers), x r12,
 * rows r1 r5 r7 r8, the element count lr (DLSTP / LETP); q0-q3. LETP's exit
 * leaves tail predication off (LTPSIZE 4). */
__attribute__((naked, noinline)) static void fc_tile_1x4(const int8_t *x, const int8_t *w, int32_t stride,
                                                         int32_t len, int32_t *acc)
{
    (void)x;
    (void)w;
    (void)stride;
    (void)len;
    (void)acc;
    __asm__ volatile(
        "push        {r4-r8, lr}\n\t"
        "mov         r12, r0\n\t"
        "add         r5, r1, r2\n\t"
        "add         r7, r5, r2\n\t"
        "add         r8, r7, r2\n\t"
        "movs        r0, #0\n\t"
        "movs        r2, #0\n\t"
        "movs        r4, #0\n\t"
        "movs        r6, #0\n\t"
        "dlstp.8     lr, r3\n\t"
        "1:\n\t"
        "vldrb.8     q0, [r12], #16\n\t"
        "vldrb.8     q1, [r1], #16\n\t"
        "vldrb.8     q2, [r5], #16\n\t"
        "vmladava.s8 r0, q0, q1\n\t"
        "vldrb.8     q3, [r7], #16\n\t"
        "vmladava.s8 r2, q0, q2\n\t"
        "vldrb.8     q1, [r8], #16\n\t"
        "vmladava.s8 r4, q0, q3\n\t"
        "vmladava.s8 r6, q0, q1\n\t"
        "letp        lr, 1b\n\t"
        "ldr         r3, [sp, #24]\n\t"
        "stm         r3, {r0, r2, r4, r6}\n\t"
        "pop         {r4-r8, pc}\n\t");
}

/* Every batch with units >= 4, for one requantization mode (a constant). */
__attribute__((always_inline)) static inline void fc_run(const tinyml_fully_connected_params_t *p,
                                                         const tm_mve_out_t *o, tm_mve_rq_mode_t mode,
                                                         const int8_t *input, const int8_t *weights, int8_t *output)
{
    const int32_t depth = p->input_depth, units = p->units, last = units - 4;
    const int32x4_t m = vdupq_n_s32(o->multiplier[0]), sh = vdupq_n_s32(o->shift[0]);
    int32_t acc[4] __attribute__((aligned(16)));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * depth;
        int8_t *out = output + (size_t)b * units;
        const int8_t *w = weights;
        for (int32_t u = 0; u < last; u += 4, w += 4 * (size_t)depth) {
            fc_tile_1x4(x, w, depth, depth, acc);
            tm_mve_requant_1x4(o, mode, u, acc, m, sh, out + u);
        }
        /* the last four units (recomputes up to 3 with units % 4 != 0) */
        fc_tile_1x4(x, weights + (size_t)last * depth, depth, depth, acc);
        tm_mve_requant_1x4(o, mode, last, acc, m, sh, out + last);
    }
}

void tinyml_fully_connected_s8_fast(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                    const int8_t *weights, const int32_t *folded_bias, int8_t *output)
{
    const int32_t depth = p->input_depth, units = p->units;
    const tm_mve_out_t o = tm_mve_out(folded_bias, p->quant, p->per_channel, units, p->output_offset, p->activation,
                                      TM_ROUNDING(p->rounding));
    if (units >= 4) {
        if (o.mode == TM_MVE_RQ_DOUBLE) {
            fc_run(p, &o, TM_MVE_RQ_DOUBLE, input, weights, output);
        } else if (o.mode == TM_MVE_RQ_SINGLE) {
            fc_run(p, &o, TM_MVE_RQ_SINGLE, input, weights, output);
        } else {
            fc_run(p, &o, TM_MVE_RQ_SCALAR, input, weights, output);
        }
        return;
    }
    /* fewer than 4 units: one at a time, as a tile of four equal rows */
    int32_t acc[4] __attribute__((aligned(16)));
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * depth;
        for (int32_t u = 0; u < units; ++u) {
            fc_tile_1x4(x, weights + (size_t)u * depth, 0, depth, acc);
            output[(size_t)b * units + u] = tm_mve_requant1(&o, u, acc[0]);
        }
    }
}

/* tinyml_fully_connected_s8_fast_w16 (int16 weights, kernels.h) on Helium: as for the pointwise
 * build (conv2d_1x1_s8_fast_mve.c), the widened weights serve the DSP cores; here plain C,
 * exact and not fast. */
void tinyml_fully_connected_s8_fast_w16(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                        const int16_t *weights, const int32_t *folded_bias, int8_t *output)
{
    static const uint8_t pos[4] = {0, 2, 1, 3};
    const int32_t depth = p->input_depth, units = p->units;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + (size_t)b * depth;
        for (int32_t u = 0; u < units; ++u) {
            const int16_t *row = weights + (size_t)(u >> 2) * (size_t)(4 * depth) + (size_t)(u & 3) * 4u;
            int32_t acc = folded_bias[u];
            for (int32_t k = 0; k < depth; ++k) {
                acc += x[k] * row[(size_t)(k >> 2) * 16u + pos[k & 3]];
            }
            const int32_t q = p->per_channel ? u : 0;
            int32_t v = tm_mbqm(acc, p->quant.multiplier[q], p->quant.shift[q], TM_ROUNDING(p->rounding)) +
                        p->output_offset;
            v = v < p->activation.min ? p->activation.min : v;
            output[(size_t)b * units + u] = (int8_t)(v > p->activation.max ? p->activation.max : v);
        }
    }
}

#endif /* __ARM_FEATURE_MVE & 1 */
