/*
 * AVERAGE_POOL_2D, int8: the fast variant of tinyml_avg_pool2d_s8, bit-identical to
 * it for any window, stride, padding, batch and channel count. No scratch.
 *
 * Channels go four at a time. For an output pixel, the window's words of four channels
 * (one LDR per tap) are summed into two int16 pairs, channels (c, c+2) and (c+1, c+3)
 * (SXTAB16 and SXTAB16 ROR #8: 3 instructions for 4 values). That is exact while the
 * window holds at most 256 taps inside the image: |sum| <= 128 * 256 = 32768, and the
 * smallest sum, -32768, and the largest, 127 * 256, are int16 values. The four sums are
 * then rounded half away from zero and divided by the tap count, as the reference, and
 * clamped to the activation range. Larger windows and the C % 4 last channels take the
 * reference's loop, one channel at a time.
 */
#include "tinyml/kernels.h"
#include "tinyml/simd.h"

#define AP_MAX_FAST_TAPS 256

/* The reference's rounding division: the mean of `count` (> 0) values summing to acc. */
static inline int32_t ap_mean(int32_t acc, int32_t count)
{
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

void tinyml_avg_pool2d_s8_fast(const tinyml_pool2d_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->input.h, in_w = p->input.w, depth = p->input.c;
    const int32_t lo = p->activation.min, hi = p->activation.max;
    for (int32_t b = 0; b < p->output.n; ++b) {
        for (int32_t oy = 0; oy < p->output.h; ++oy) {
            const int32_t y0 = oy * p->stride.h - p->pad.h;
            const int32_t fy0 = y0 < 0 ? -y0 : 0;
            const int32_t fy1 = p->filter.h < in_h - y0 ? p->filter.h : in_h - y0;
            for (int32_t ox = 0; ox < p->output.w; ++ox) {
                const int32_t x0 = ox * p->stride.w - p->pad.w;
                const int32_t fx0 = x0 < 0 ? -x0 : 0;
                const int32_t fx1 = p->filter.w < in_w - x0 ? p->filter.w : in_w - x0;
                const int32_t rows = fy1 - fy0, cols = fx1 - fx0;
                const int32_t count = rows > 0 && cols > 0 ? rows * cols : 0;
                int8_t *out = output + ((size_t)(b * p->output.h + oy) * (size_t)p->output.w + (size_t)ox) * depth;
                /* the window's first tap inside the image, channel 0 */
                const int8_t *first = count ? input + ((size_t)(b * in_h + y0 + fy0) * (size_t)in_w +
                                                       (size_t)(x0 + fx0)) * (size_t)depth : input;
                const size_t row_step = (size_t)in_w * (size_t)depth;
                int32_t c = 0;
                if (count > 0 && count <= AP_MAX_FAST_TAPS) {
                    for (; c + 4 <= depth; c += 4) {
                        int32_t even = 0, odd = 0; /* int16 pairs: channels (c, c+2), (c+1, c+3) */
                        const int8_t *row = first + c;
                        for (int32_t y = 0; y < rows; ++y, row += row_step) {
                            const int8_t *tap = row;
                            for (int32_t x = 0; x < cols; ++x, tap += depth) {
                                const int32_t w = tm_load_s8x4(tap);
                                even = tm_sxtab16(even, w);
                                odd = tm_sxtab16_ror8(odd, w);
                            }
                        }
                        out[c] = (int8_t)tm_clamp(ap_mean((int16_t)even, count), lo, hi);
                        out[c + 1] = (int8_t)tm_clamp(ap_mean((int16_t)odd, count), lo, hi);
                        out[c + 2] = (int8_t)tm_clamp(ap_mean(even >> 16, count), lo, hi);
                        out[c + 3] = (int8_t)tm_clamp(ap_mean(odd >> 16, count), lo, hi);
                    }
                }
                for (; c < depth; ++c) {
                    int32_t acc = 0;
                    const int8_t *row = first + c;
                    for (int32_t y = 0; y < rows; ++y, row += row_step) {
                        for (int32_t x = 0; x < cols; ++x) {
                            acc += row[(size_t)x * (size_t)depth];
                        }
                    }
                    out[c] = (int8_t)tm_clamp(count > 0 ? ap_mean(acc, count) : 0, lo, hi);
                }
            }
        }
    }
}
