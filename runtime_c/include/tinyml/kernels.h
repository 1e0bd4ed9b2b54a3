/*
 * tinyml/kernels.h - the portable C99 int8 reference kernels.
 *
 * Conventions (all kernels):
 *   - Activations are int8, NHWC (batch, height, width, channels), densely packed.
 *   - Weights are int8 and symmetric (zero point 0); conv filters are OHWI,
 *     depthwise filters are 1HW(C*M), fully connected weights are [units][depth].
 *   - Bias is int32, quantized with scale input_scale * weight_scale[c].
 *   - `input_offset` is -input_zero_point, `output_offset` is +output_zero_point
 *     (TFLite's convention).
 *   - Requantization: per-channel (multiplier[c], shift[c]) pairs, shift in
 *     [-31, 30]; positive shift is a left shift. See fixedpoint.h for the two
 *     rounding contracts.
 *   - activation.min/max clamp the int8 output (fused activation), in [-128, 127].
 *   - Kernels never allocate. A kernel that needs scratch memory takes a
 *     `scratch` pointer and has a `*_scratch_size()` function that the memory
 *     planner calls at compile time.
 *   - Shapes given as `int32_t shape[TINYML_MAX_DIMS]` are right-aligned
 *     (leading dimensions padded with 1).
 *
 * Fast variants (`*_fast`, in `*_fast.c` files) are bit-identical to the
 * reference kernel they name. They pick their inner loop when compiled:
 * Helium (__ARM_FEATURE_MVE), ARMv7E-M DSP (__ARM_FEATURE_DSP: SMLAD on
 * 16-bit pairs), or portable blocked C. They take the bias *folded* at compile
 * time: folded_bias[c] = bias[c] + input_offset * sum of filter[c] (zero bias
 * if the layer has none), so the inner loop multiplies raw int8 values; never
 * NULL. A padded tap then reads the input zero point (-input_offset), which
 * contributes 0, exactly as the reference kernel skipping it.
 */
#ifndef TINYML_KERNELS_H
#define TINYML_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "tinyml/fixedpoint.h"
#include "tinyml/nd_index.h" /* TINYML_MAX_DIMS */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- building blocks shared by the parameter structs ------------------
 * Every parameter struct below is composed of these, in the way CMSIS-NN
 * composes cmsis_nn_conv_params; tinyengine/core/params.py mirrors each one
 * field by field (tests/test_kernel_params.py checks it against this header). */
typedef struct {
    int32_t n, h, w, c;
} tinyml_dims_t;

/* A (height, width) pair: stride, dilation, padding or a pooling window. */
typedef struct {
    int32_t h, w;
} tinyml_tile_t;

/* The fused activation: the int8 output is clamped to [min, max]. */
typedef struct {
    int32_t min, max;
} tinyml_activation_t;

/* Per-channel requantization: (multiplier[c], shift[c]) for every output channel. */
typedef struct {
    const int32_t *multiplier;
    const int32_t *shift;
} tinyml_per_channel_quant_t;

/* ---- CONV_2D ---------------------------------------------------------- */
typedef struct {
    tinyml_dims_t input;   /* N, H, W, C_in */
    tinyml_dims_t filter;  /* C_out, KH, KW, C_in */
    tinyml_dims_t output;  /* N, OH, OW, C_out */
    tinyml_tile_t stride;
    tinyml_tile_t dilation;
    tinyml_tile_t pad;     /* top / left padding; bottom / right implied */
    int32_t input_offset, output_offset;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
    tinyml_per_channel_quant_t quant; /* [C_out] each */
} tinyml_conv2d_params_t;

void tinyml_conv2d_s8(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                      const int32_t *bias, int8_t *output);

/* Pointwise variant (1x1 kernel, stride 1, no padding), pixel by pixel through a
 * C_in-byte scratch (tinyml_conv2d_1x1_s8_scratch_size()). The output may overlap
 * the input as long as output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels)
 * bytes; bit-identical to tinyml_conv2d_s8. */
size_t tinyml_conv2d_1x1_s8_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_1x1_s8(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                          const int32_t *bias, int8_t *output, int8_t *scratch);

/* Fast CONV_2D, any kernel size, stride, dilation and padding: im2col of a few
 * output pixels into `scratch` (tinyml_conv2d_s8_fast_scratch_size() bytes), then
 * a blocked matrix multiply over (pixels x output channels). Output must not
 * overlap the input. */
size_t tinyml_conv2d_s8_fast_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                           const int32_t *folded_bias, int8_t *output, int8_t *scratch);
/* The same, the pair's im2col columns widened to int16 once per pixel pair: fewer
 * instructions per MAC, twice the scratch (tinyml_conv2d_s8_fast_wide_scratch_size()
 * bytes). Output must not overlap the input. */
size_t tinyml_conv2d_s8_fast_wide_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_s8_fast_wide(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                                const int32_t *folded_bias, int8_t *output, int8_t *scratch);
/* The same with the weights widened to int16 at compile time (the layout and `rq` table of
 * tinyml_conv2d_1x1_s8_fast_w16, rows of KH * KW * C_in values), for C_in % 4 == 0, a patch
 * length KH * KW * C_in that is a multiple of 8 and C_out even; the pair's patches are widened
 * straight from the image (tinyml_conv2d_s8_fast_w16_scratch_size() bytes). Its code lives with
 * the pointwise kernels it shares (conv2d_1x1_s8_fast.c). Output must not overlap the input. */
size_t tinyml_conv2d_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                               const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch);

/* Fast pointwise CONV_2D (the shapes of tinyml_conv2d_1x1_s8), blocked over a few
 * pixels at a time through `scratch` (tinyml_conv2d_1x1_s8_fast_scratch_size()
 * bytes). The same overlap rule as tinyml_conv2d_1x1_s8 holds:
 *     output - input <= (C_in - C_out) * (C_in >= C_out ? 1 : pixels). */
size_t tinyml_conv2d_1x1_s8_fast_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_1x1_s8_fast(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                               const int32_t *folded_bias, int8_t *output, int8_t *scratch);
/* The same with the weights widened to int16 at compile time (twice their flash), for
 * C_in a multiple of 8 and C_out even: per output-channel pair c, c + 1 and group of four
 * input channels k .. k+3, eight int16 values w[c][k], w[c][k+2], w[c][k+1], w[c][k+3], then
 * the same four of row c + 1 (tinyengine.core.variants.widen_conv_weights), 4-byte
 * aligned. `rq`: per output channel c three words, quant.multiplier[c], h and r with
 * r = -shift[c] - 1 and h = (int32_t)((uint32_t)(2 * output_offset + 1) << r) >> 1 (simd.h,
 * tm_rq_fast_h), read when every channel is in the fast requantization's range (else zeros,
 * not read). The scratch (tinyml_conv2d_1x1_s8_fast_w16_scratch_size() bytes, as the int8
 * kernel's) and the overlap rule are tinyml_conv2d_1x1_s8_fast's. Bit-identical to
 * tinyml_conv2d_1x1_s8. */
size_t tinyml_conv2d_1x1_s8_fast_w16_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_conv2d_1x1_s8_fast_w16(const tinyml_conv2d_params_t *p, const int8_t *input, const int16_t *filter,
                                   const int32_t *folded_bias, const int32_t *rq, int8_t *output, int8_t *scratch);

/* ---- TRANSPOSE_CONV (TFLite's reference scheme) ----------------------- *
 * The CONV_2D struct, read backwards: filter is C_out x KH x KW x C_in, input pixel (y, x)
 * adds (input + input_offset) * filter into the output pixels (y * stride - pad + ky,
 * x * stride - pad + kx) that lie inside the output; dilation must be 1. The int32 sums live
 * in `scratch` (tinyml_transpose_conv_s8_scratch_size(): 4 bytes per output value), then the
 * bias (may be NULL) is added and each sum requantized per output channel. */
size_t tinyml_transpose_conv_s8_scratch_size(const tinyml_conv2d_params_t *p);
void tinyml_transpose_conv_s8(const tinyml_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, int8_t *output, void *scratch);

/* ---- DEPTHWISE_CONV_2D ------------------------------------------------ */
typedef struct {
    tinyml_dims_t input;   /* N, H, W, C_in */
    tinyml_dims_t filter;  /* 1, KH, KW, C_in * depth_multiplier */
    tinyml_dims_t output;  /* N, OH, OW, C_in * depth_multiplier */
    int32_t depth_multiplier;
    tinyml_tile_t stride;
    tinyml_tile_t dilation;
    tinyml_tile_t pad;
    int32_t input_offset, output_offset;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
    tinyml_per_channel_quant_t quant; /* [C_out] each */
} tinyml_depthwise_conv2d_params_t;

void tinyml_depthwise_conv2d_s8(const tinyml_depthwise_conv2d_params_t *p, const int8_t *input,
                                const int8_t *filter, const int32_t *bias, int8_t *output);

/* In-place variant (depth_multiplier == 1, output no larger than the input):
 * `buffer` holds the input on entry and the output on return. Needs
 * tinyml_depthwise_conv2d_inplace_s8_scratch_size() = input.h * input.w bytes
 * of scratch (one channel). Bit-identical to tinyml_depthwise_conv2d_s8. */
size_t tinyml_depthwise_conv2d_inplace_s8_scratch_size(const tinyml_depthwise_conv2d_params_t *p);
void tinyml_depthwise_conv2d_inplace_s8(const tinyml_depthwise_conv2d_params_t *p, int8_t *buffer,
                                        const int8_t *filter, const int32_t *bias, int8_t *scratch);

/* Fast DEPTHWISE_CONV_2D, out of place, any kernel size, stride, dilation,
 * padding and depth multiplier (SIMD across channels where depth_multiplier == 1).
 * No scratch. Output must not overlap the input. */
void tinyml_depthwise_conv2d_s8_fast(const tinyml_depthwise_conv2d_params_t *p, const int8_t *input,
                                     const int8_t *filter, const int32_t *folded_bias, int8_t *output);

/* Fast in-place DEPTHWISE_CONV_2D: the contract of tinyml_depthwise_conv2d_inplace_s8
 * (depth_multiplier 1, output no larger than the input, `buffer` holds the input on
 * entry and the output on return, one channel of scratch:
 * tinyml_depthwise_conv2d_inplace_s8_fast_scratch_size() = input.h * input.w bytes),
 * with a blocked inner loop over each channel plane. */
size_t tinyml_depthwise_conv2d_inplace_s8_fast_scratch_size(const tinyml_depthwise_conv2d_params_t *p);
void tinyml_depthwise_conv2d_inplace_s8_fast(const tinyml_depthwise_conv2d_params_t *p, int8_t *buffer,
                                             const int8_t *filter, const int32_t *folded_bias, int8_t *scratch);

/* ---- FULLY_CONNECTED -------------------------------------------------- */
typedef struct {
    int32_t batches, input_depth, units;
    int32_t input_offset, filter_offset, output_offset;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
    int32_t per_channel;              /* 0: quant.multiplier[0] / quant.shift[0] for all units */
    tinyml_per_channel_quant_t quant; /* [units] or [1] each */
} tinyml_fully_connected_params_t;

void tinyml_fully_connected_s8(const tinyml_fully_connected_params_t *p, const int8_t *input,
                               const int8_t *weights, const int32_t *bias, int8_t *output);

/* Fast FULLY_CONNECTED (filter_offset 0, both rounding contracts), bias folded. */
void tinyml_fully_connected_s8_fast(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                    const int8_t *weights, const int32_t *folded_bias, int8_t *output);
/* The same with the weights widened to int16 at compile time (twice their flash), for a depth
 * that is a multiple of 8 and units a multiple of 4: per unit quad u .. u+3 and group of four
 * depth values k .. k+3, each row's w[k], w[k+2], w[k+1], w[k+3] in turn (32 bytes;
 * tinyengine.core.variants.widen_fc_weights), 4-byte aligned. Bit-identical to
 * tinyml_fully_connected_s8; filter_offset == 0 as for the fast kernel. */
void tinyml_fully_connected_s8_fast_w16(const tinyml_fully_connected_params_t *p, const int8_t *input,
                                        const int16_t *weights, const int32_t *folded_bias, int8_t *output);

/* ---- broadcast geometry shared by ADD / MUL ---------------------------- */
typedef struct {
    int32_t out_shape[TINYML_MAX_DIMS];
    int32_t in1_strides[TINYML_MAX_DIMS]; /* element strides, 0 on broadcast dims */
    int32_t in2_strides[TINYML_MAX_DIMS];
} tinyml_broadcast_t;

/* ---- ADD -------------------------------------------------------------- */
typedef struct {
    tinyml_broadcast_t geometry;
    int32_t left_shift;
    int32_t input1_offset, input1_multiplier, input1_shift;
    int32_t input2_offset, input2_multiplier, input2_shift;
    int32_t output_offset, output_multiplier, output_shift;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
    int32_t mode; /* TINYML_ADD_*: 0 ADD, 1 SUB, 2 SQUARED_DIFFERENCE (reference kernel only) */
} tinyml_add_params_t;

void tinyml_add_s8(const tinyml_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* Fast ADD without broadcasting (both inputs have the output's shape: the
 * geometry's strides are the output's contiguous strides). Element i of both
 * inputs is read before output element i is written, so output may equal
 * input1 or input2 (in place). */
void tinyml_add_s8_fast(const tinyml_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* ---- MUL -------------------------------------------------------------- */
typedef struct {
    tinyml_broadcast_t geometry;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
} tinyml_mul_params_t;

void tinyml_mul_s8(const tinyml_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* Fast MUL without broadcasting; the same in-place rule as tinyml_add_s8_fast. */
void tinyml_mul_s8_fast(const tinyml_mul_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D ------------------------------------ */
typedef struct {
    tinyml_dims_t input;
    tinyml_dims_t output;
    tinyml_tile_t filter; /* the pooling window */
    tinyml_tile_t stride;
    tinyml_tile_t pad;
    tinyml_activation_t activation;
} tinyml_pool2d_params_t;

void tinyml_avg_pool2d_s8(const tinyml_pool2d_params_t *p, const int8_t *input, int8_t *output);
/* The same, four channels at a time in int16 pairs (SXTAB16) while a window has at most 256
 * taps inside the image; bit-identical to tinyml_avg_pool2d_s8. No scratch. */
void tinyml_avg_pool2d_s8_fast(const tinyml_pool2d_params_t *p, const int8_t *input, int8_t *output);
void tinyml_max_pool2d_s8(const tinyml_pool2d_params_t *p, const int8_t *input, int8_t *output);

/* ---- MEAN (any set of axes) ------------------------------------------- */
typedef struct {
    int32_t in_shape[TINYML_MAX_DIMS];
    int32_t out_strides[TINYML_MAX_DIMS]; /* element strides into the output, 0 on reduced axes */
    int32_t num_outputs;
    int32_t num_elements_in_axis;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift; /* already folded with 1/num_elements_in_axis */
    tinyml_rounding_t rounding;
} tinyml_mean_params_t;

size_t tinyml_mean_s8_scratch_size(const tinyml_mean_params_t *p);
void tinyml_mean_s8(const tinyml_mean_params_t *p, const int8_t *input, int8_t *output, void *scratch);

/* ---- SOFTMAX / LOG_SOFTMAX (last axis) -------------------------------- */
typedef struct {
    int32_t outer_size, depth;
    int32_t input_multiplier, input_left_shift;
    int32_t diff_min;
    int32_t reverse_scaling_divisor, reverse_scaling_shift; /* LOG_SOFTMAX only */
    tinyml_rounding_t rounding;
} tinyml_softmax_params_t;

void tinyml_softmax_s8(const tinyml_softmax_params_t *p, const int8_t *input, int8_t *output);
void tinyml_log_softmax_s8(const tinyml_softmax_params_t *p, const int8_t *input, int8_t *output);

/* ---- LOGISTIC --------------------------------------------------------- */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t input_range_radius;
    int32_t input_multiplier, input_left_shift;
    tinyml_rounding_t rounding;
} tinyml_logistic_params_t;

void tinyml_logistic_s8(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output);
/* TANH with the same parameters: output scale 1/128, zero point 0 (gemmlowp's fixed-point tanh). */
void tinyml_tanh_s8(const tinyml_logistic_params_t *p, const int8_t *input, int8_t *output);

/* ---- HARD_SWISH ------------------------------------------------------- */
typedef struct {
    int32_t size;
    int32_t input_zero_point, output_zero_point;
    int16_t reluish_multiplier_fixedpoint_int16;
    int32_t reluish_multiplier_exponent;
    int16_t output_multiplier_fixedpoint_int16;
    int32_t output_multiplier_exponent;
} tinyml_hard_swish_params_t;

void tinyml_hard_swish_s8(const tinyml_hard_swish_params_t *p, const int8_t *input, int8_t *output);

/* ---- RELU / RELU6 / RELU_N1_TO_1 and int8 -> int8 requantize ----------- */
typedef struct {
    int32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
} tinyml_requantize_params_t;

void tinyml_requantize_s8(const tinyml_requantize_params_t *p, const int8_t *input, int8_t *output);

/* ---- LEAKY_RELU: x - zp_in >= 0 scaled by input/output, else by alpha * input/output */
typedef struct {
    int32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
    tinyml_rounding_t rounding;
} tinyml_leaky_relu_params_t;

void tinyml_leaky_relu_s8(const tinyml_leaky_relu_params_t *p, const int8_t *input, int8_t *output);

/* ---- RSQRT: 1 / sqrt(x - zp_in) scaled by 1 / (sqrt(input_scale) * output_scale), shift in [-11, 30].
 * x == zp_in gives 127; so does x < zp_in, a negative real input on which TFLM and LiteRT stop
 * with an error. */
typedef struct {
    int32_t size;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    tinyml_rounding_t rounding;
} tinyml_rsqrt_params_t;

void tinyml_rsqrt_s8(const tinyml_rsqrt_params_t *p, const int8_t *input, int8_t *output);

/* ---- PRELU: x - zp >= 0 scaled by the identity multiplier, else (x - zp)(alpha - zp_alpha)
 * scaled by the alpha multiplier; alpha broadcast against the input (N-d). */
typedef struct {
    tinyml_broadcast_t geometry; /* in1: the input, in2: alpha */
    int32_t input_offset, alpha_offset, output_offset;
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
    tinyml_rounding_t rounding;
} tinyml_prelu_params_t;

void tinyml_prelu_s8(const tinyml_prelu_params_t *p, const int8_t *input, const int8_t *alpha, int8_t *output);

/* ---- BATCH_MATMUL: out[b][m][n] = requantize(sum_k (lhs[b][m][k] + lhs_offset)(rhs[b][k][n] + rhs_offset))
 * Up to 4 batch dimensions, broadcast (stride 0); adj_x / adj_y are in the element strides. */
typedef struct {
    int32_t batch_shape[TINYML_MAX_DIMS]; /* the batch dimensions, right-aligned, leading 1s */
    int32_t lhs_batch_strides[TINYML_MAX_DIMS], rhs_batch_strides[TINYML_MAX_DIMS];
    int32_t rows, cols, depth;               /* M, N, K */
    int32_t lhs_row_stride, lhs_depth_stride; /* elements between lhs[m][k] and lhs[m+1][k] / lhs[m][k+1] */
    int32_t rhs_depth_stride, rhs_col_stride;
    int32_t lhs_offset, rhs_offset, output_offset;
    int32_t output_multiplier, output_shift;
    tinyml_activation_t activation;
    tinyml_rounding_t rounding;
} tinyml_batch_matmul_params_t;

void tinyml_batch_matmul_s8(const tinyml_batch_matmul_params_t *p, const int8_t *lhs, const int8_t *rhs,
                            int8_t *output);

/* ---- REDUCE_MAX over any set of axes: the raw int8 maximum ------------- */
typedef struct {
    int32_t in_shape[TINYML_MAX_DIMS];
    int32_t out_strides[TINYML_MAX_DIMS]; /* 0 on the reduced axes */
    int32_t num_outputs;
} tinyml_reduce_max_params_t;

void tinyml_reduce_max_s8(const tinyml_reduce_max_params_t *p, const int8_t *input, int8_t *output);

/* ---- QUANTIZE (float32 -> int8) / DEQUANTIZE (int8 -> float32) -------- */
typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} tinyml_affine_params_t;

void tinyml_quantize_f32_s8(const tinyml_affine_params_t *p, const float *input, int8_t *output);
void tinyml_dequantize_s8_f32(const tinyml_affine_params_t *p, const int8_t *input, float *output);

/* ---- PAD -------------------------------------------------------------- */
typedef struct {
    int32_t in_shape[TINYML_MAX_DIMS];
    int32_t out_shape[TINYML_MAX_DIMS];
    int32_t pad_before[TINYML_MAX_DIMS];
    int32_t element_size; /* bytes per element */
    int32_t pad_value;    /* for int8 tensors */
} tinyml_pad_params_t;

void tinyml_pad(const tinyml_pad_params_t *p, const void *input, void *output);
/* In place: the input occupies the start of `buffer`, which holds the output's bytes; the
 * padded output is written back to front over it (every element lands at or after its
 * source, so no input element is overwritten before it is read). Bit-identical to
 * tinyml_pad. pad_before[d] >= 0 and out_shape[d] >= in_shape[d] + pad_before[d]. */
void tinyml_pad_inplace(const tinyml_pad_params_t *p, void *buffer);

/* ---- CONCATENATION ---------------------------------------------------- */
typedef struct {
    int32_t num_inputs;
    int32_t outer_size;
    const int32_t *copy_bytes; /* [num_inputs] bytes copied per outer index */
} tinyml_concat_params_t;

void tinyml_concat(const tinyml_concat_params_t *p, const void *const *inputs, void *output);

/* ---- SPLIT / SPLIT_V / UNPACK: the inverse of CONCATENATION ----------- */
typedef struct {
    int32_t num_outputs;
    int32_t outer_size;
    const int32_t *copy_bytes; /* [num_outputs] bytes copied to each output per outer index */
} tinyml_split_params_t;

void tinyml_split(const tinyml_split_params_t *p, const void *input, void *const *outputs);

/* ---- TRANSPOSE, SLICE, STRIDED_SLICE: a strided copy ------------------- *
 * output[i] = input[in_offset + sum_d idx_d(i) * in_strides[d]], i in row-major order over
 * out_shape. Strides may be negative (STRIDED_SLICE with a negative step) or permuted. */
typedef struct {
    int32_t out_shape[TINYML_MAX_DIMS];
    int32_t in_strides[TINYML_MAX_DIMS]; /* input element stride for each output axis */
    int32_t element_size;
    int32_t in_offset; /* input element of output element 0 */
} tinyml_transpose_params_t;

void tinyml_transpose(const tinyml_transpose_params_t *p, const void *input, void *output);

/* ---- GATHER: output[o][j] = input[o][indices[j]] along one axis -------- */
typedef struct {
    int32_t outer_size;       /* product of the dimensions before the axis */
    int32_t axis_size;        /* the input's length along the axis */
    int32_t num_indices;
    int32_t inner_bytes;      /* bytes of one slice: product of the dimensions after the axis x element size */
    const int32_t *indices;   /* [num_indices], each in [0, axis_size) (checked at compile time) */
} tinyml_gather_params_t;

void tinyml_gather(const tinyml_gather_params_t *p, const void *input, void *output);

/* ---- MAXIMUM / MINIMUM: element-wise on the raw int8 values, N-d broadcasting */
typedef struct {
    tinyml_broadcast_t geometry;
    int32_t minimum; /* 0: MAXIMUM, 1: MINIMUM */
} tinyml_max_min_params_t;

void tinyml_max_min_s8(const tinyml_max_min_params_t *p, const int8_t *in1, const int8_t *in2, int8_t *output);

/* ---- RESIZE_NEAREST_NEIGHBOR ------------------------------------------ */
typedef struct {
    tinyml_dims_t input;
    tinyml_dims_t output;
    const int32_t *y_index; /* [OH] source row for each output row */
    const int32_t *x_index; /* [OW] source column for each output column */
    int32_t element_size;
} tinyml_resize_nearest_params_t;

void tinyml_resize_nearest(const tinyml_resize_nearest_params_t *p, const void *input, void *output);

/* ---- UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations, int16 cell state ----------------------
 * The integer LSTM without CIFG, peephole, projection or layer normalisation, in one of two
 * arithmetics (`arithmetic`), each that implementation's to the bit. Per time step and batch
 * row each gate's pre-activation (Q3.12, int16) is the saturated sum of its input part and its
 * recurrent part (both requantized with gemmlowp's double rounding); forget, input and output
 * gates take an int16 sigmoid, the cell gate an int16 tanh (Q0.15 results); then the cell
 * state c (int16, scale 2^P) and the hidden state h (int8, the step's output row):
 *   TINYML_LSTM_TFLM (TF-Lite Micro): the recurrent part saturated to int16 on its own too;
 *     sigmoid and tanh interpolate TFLite's 256-entry table;
 *     c = sat16(sat16(f * c, 2^30 with shift -14) + sat16(i * g, 2^30 with input_cell_shift)),
 *     clipped; h = sat8(hidden_zero_point + o * tanh(c) scaled by the hidden multiplier), with
 *     tanh's argument c rescaled to Q3.12 by tanh_multiplier, tanh_shift.
 *   TINYML_LSTM_LITERT (LiteRT's reference kernels): gemmlowp's int16 fixed-point sigmoid and
 *     tanh; c = sat16(rdiv(f * c, 15) + wrap16(rdiv(i * g, 30 + P))), clipped (rdiv: one
 *     rounding, half away from zero); tanh(c) reads c as Q(15+P).(-P) as it is, and for
 *     15 + P outside 0..6, where LiteRT's tanh has no case and leaves its buffer as it was, the
 *     step's input gate stands in for tanh(c); h as above.
 * The hidden state (int8 [batches][units]) and the cell state (int16 [batches][units]) are the
 * model's variable tensors: read at the start of a call, written at its end; the caller keeps
 * them between calls. */
typedef enum {
    TINYML_LSTM_TFLM = 0,
    TINYML_LSTM_LITERT = 1
} tinyml_lstm_arithmetic_t;

typedef struct {
    const int8_t *input_weights;      /* [units][input_size] */
    const int8_t *recurrent_weights;  /* [units][units] */
    const int32_t *input_bias;        /* [units]: the gate bias - input zero point * row sum */
    const int32_t *recurrent_bias;    /* [units]: - hidden zero point * row sum */
    int32_t input_multiplier, input_shift;         /* input part -> Q3.12 */
    int32_t recurrent_multiplier, recurrent_shift; /* recurrent part -> Q3.12 */
} tinyml_lstm_gate_t;

typedef struct {
    int32_t batches, time_steps, input_size, units;
    int32_t time_major;              /* input [time][batch][input_size], else [batch][time][input_size] */
    tinyml_lstm_gate_t input_gate, forget_gate, cell_gate, output_gate;
    int32_t input_cell_shift;        /* i * g -> cell scale: multiplier 2^30 with this shift */
    int32_t cell_clip, has_cell_clip;
    int32_t tanh_multiplier, tanh_shift; /* tanh(c): argument (c * multiplier + round) >> shift, in Q3.12 x 3 */
    int32_t hidden_multiplier, hidden_shift, hidden_zero_point;
    tinyml_rounding_t rounding;
    tinyml_lstm_arithmetic_t arithmetic;
    int32_t cell_scale_log2;         /* P: the cell state's scale is 2^P (LiteRT's arithmetic) */
} tinyml_lstm_params_t;

/* scratch: 3 int16 vectors of `units` */
size_t tinyml_lstm_s8_scratch_size(const tinyml_lstm_params_t *p);
void tinyml_lstm_s8(const tinyml_lstm_params_t *p, const int8_t *input, int8_t *output, int8_t *hidden,
                    int16_t *cell, int16_t *scratch);

/* ---- SVDF, int8 input and output, int16 weights_time and state (TF-Lite Micro's integer SVDF) --
 * Per call: the state (int16 [batches][filters][memory], the model's variable tensor; the newest
 * value last) shifts one place towards the oldest; each filter's feature dot product, scaled by
 * the feature multiplier and saturated to int16, becomes its newest value; each unit sums its
 * `rank` filters' time dot products with its bias, scaled by the output multiplier. The model's
 * fused activation is not applied (TFLM and LiteRT ignore it too). */
typedef struct {
    int32_t batches, input_size, filters, rank, memory, units;
    const int8_t *feature_weights;  /* [filters][input_size] */
    const int32_t *feature_bias;    /* [filters]: - input zero point * row sum */
    const int16_t *time_weights;    /* [filters][memory] */
    const int32_t *bias;            /* [units] */
    int32_t feature_multiplier, feature_shift;
    int32_t output_multiplier, output_shift, output_zero_point;
    tinyml_rounding_t rounding;
} tinyml_svdf_params_t;

void tinyml_svdf_s8(const tinyml_svdf_params_t *p, const int8_t *input, int8_t *output, int16_t *state);

/* ---- rectangle copy (patch gather / stitch) ------------------------- */
typedef struct {
    int32_t rows;       /* rows to copy */
    int32_t row_bytes;  /* bytes per row */
    int32_t src_stride; /* bytes between row starts in src */
    int32_t dst_stride; /* bytes between row starts in dst */
} tinyml_copy_rect_params_t;

void tinyml_copy_rect(const tinyml_copy_rect_params_t *p, const void *src, void *dst);

#ifdef __cplusplus
}
#endif

#endif /* TINYML_KERNELS_H */
