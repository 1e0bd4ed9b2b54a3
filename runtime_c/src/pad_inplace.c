/* PAD / PADV2 in place: the padded tensor written back to front over its input.
 *
 * Input row r (the innermost dimension) moves from byte r * row to its output offset o(r),
 * and o(r) >= r * row (output strides are at least the input's and every pad_before >= 0).
 * Rows go from the last to the first: when row r moves, every input row still unread lies
 * below r * row <= o(r), so memmove (which handles the row's own overlap) destroys nothing
 * still needed. The padding between row r's data and row r + 1's (already written) is then
 * filled; it lies above o(r) + row > the unread rows too. Last, the padding before row 0. */
#include <string.h>

#include "tinyml/kernels.h"

static void pad_fill(const tinyml_pad_params_t *p, char *dst, size_t bytes)
{
    memset(dst, p->element_size == 1 ? (int)(uint8_t)(int8_t)p->pad_value : 0, bytes);
}

void tinyml_pad_inplace(const tinyml_pad_params_t *p, void *buffer)
{
    const size_t es = (size_t)p->element_size;
    char *const b = (char *)buffer;
    int32_t out_strides[TINYML_MAX_DIMS];
    size_t out_total = 1;
    int32_t in_rows = 1;
    out_strides[TINYML_MAX_DIMS - 1] = 1;
    for (int d = TINYML_MAX_DIMS - 2; d >= 0; --d) {
        out_strides[d] = out_strides[d + 1] * p->out_shape[d + 1];
    }
    for (int d = 0; d < TINYML_MAX_DIMS; ++d) {
        out_total *= (size_t)p->out_shape[d];
        if (d < TINYML_MAX_DIMS - 1) {
            in_rows *= p->in_shape[d];
        }
    }
    const int32_t row = p->in_shape[TINYML_MAX_DIMS - 1];
    size_t next = out_total * es; /* byte where the data written so far begins */
    if (row > 0) {
        for (int32_t r = in_rows - 1; r >= 0; --r) {
            size_t o = (size_t)p->pad_before[TINYML_MAX_DIMS - 1];
            int32_t rest = r;
            for (int d = TINYML_MAX_DIMS - 2; d >= 0; --d) {
                const int32_t i = rest % p->in_shape[d];
                rest /= p->in_shape[d];
                o += (size_t)(i + p->pad_before[d]) * (size_t)out_strides[d];
            }
            const size_t dst = o * es, bytes = (size_t)row * es;
            memmove(b + dst, b + (size_t)r * bytes, bytes);
            pad_fill(p, b + dst + bytes, next - (dst + bytes));
            next = dst;
        }
    }
    pad_fill(p, b, next);
}
