"""Compile-time work for the fast kernels: fold `input_offset x sum(weights)` into the bias.

The reference kernels compute sum((x + input_offset) * w) + bias; the fast ones
compute sum(x * w) + folded_bias with folded_bias[c] = bias[c] + input_offset *
sum_k w[c, k], the same integer. Padded taps then read the input zero point
(-input_offset) and add 0, as the reference adds nothing for them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def folded_bias(bias: np.ndarray | None, weights: np.ndarray, input_offset: int, channel_axis: int) -> np.ndarray:
    """int32 folded bias per output channel (`channel_axis` of `weights`: 0 for OHWI conv
    filters and [units][depth] FC weights, 3 for 1HW(C*M) depthwise filters)."""
    w = np.moveaxis(weights.astype(np.int64), channel_axis, 0).reshape(weights.shape[channel_axis], -1)
    total = w.sum(axis=1) * int(input_offset)
    if bias is not None:
        total = total + bias.astype(np.int64).reshape(-1)
    if total.min(initial=0) < -(1 << 31) or total.max(initial=0) >= (1 << 31):
        raise OverflowError("folded bias does not fit int32")
    return total.astype(np.int32)


# ---- constant channels ---------------------------------------------------------------------
# The fast kernels requantize with tm_rq_fast_* (simd.h) when every channel's shift lies in
# [RQ_FAST_SHIFT_MIN, RQ_FAST_SHIFT_MAX], and fall back to the general, several times slower
# tm_mbqm for the whole layer otherwise. Trained models have channels outside that range
# (a multiplier near zero: a shift of -22 to -31, or a zero multiplier with shift 0), and such
# a channel's output is almost always the same for every input: its accumulator cannot reach
# the next rounding step. Those channels are rewritten, exactly, into the fast range.

RQ_FAST_SHIFT_MIN, RQ_FAST_SHIFT_MAX = -21, -2   # TM_RQ_FAST_SHIFT_MIN / _MAX (simd.h)
_CONST_MULTIPLIER, _CONST_SHIFT, _CONST_SCALE = 1 << 30, -2, 8   # mbqm(8k, 2^30, -2) == k, both roundings
_CONST_LIMIT = 1024   # |k| beyond this saturates int8 alike after any output offset in [-128, 127]


def mbqm(x: int, multiplier: int, shift: int, single: bool) -> int:
    """tm_mbqm (fixedpoint.h) in exact integers: x * multiplier * 2^(shift - 31), rounded by
    LiteRT's single rounding or (`single=False`) gemmlowp's double rounding."""
    if single:
        total = 31 - shift
        wide = (x * multiplier + (1 << (total - 1))) >> total
        return (wide + (1 << 31)) % (1 << 32) - (1 << 31)   # the C kernels' int32 result
    if shift > 0:
        x = ((x << shift) + (1 << 31)) % (1 << 32) - (1 << 31)   # the C kernels' wrapping shift
    if x == multiplier == -(1 << 31):
        return (1 << 31) - 1
    ab = x * multiplier
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    y = (ab + nudge) // (1 << 31) if ab + nudge >= 0 else -((-(ab + nudge)) // (1 << 31))  # truncate
    e = max(0, -shift)
    mask = (1 << e) - 1
    threshold = (mask >> 1) + (1 if y < 0 else 0)
    return (y >> e) + (1 if (y & mask) > threshold else 0)


def rq_fast(multiplier: int, shift: int) -> bool:
    """Whether the fast kernels' tm_rq_fast_* requantize the pair (tm_rq_fast_ok)."""
    return multiplier >= 0 and RQ_FAST_SHIFT_MIN <= shift <= RQ_FAST_SHIFT_MAX


@dataclass(frozen=True)
class ConstantChannels:
    """A layer's weights, folded bias and requantization pairs with its constant channels
    rewritten (`channels`: their indices)."""

    weights: np.ndarray
    folded_bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    channels: tuple[int, ...]


def fold_constant_channels(weights: np.ndarray, folded: np.ndarray, multiplier: np.ndarray, shift: np.ndarray,
                           channel_axis: int, single: bool) -> ConstantChannels | None:
    """Rewrite every channel whose (multiplier, shift) the fast requantization cannot take and
    whose requantized accumulator is the same k for every int8 input: its weights become 0,
    its folded bias 8k and its pair (2^30, -2), which requantize to k again. The accumulator
    of channel c is folded[c] + sum_k x_k * w[c, k] with every x_k in [-128, 127] (a padded
    tap reads the input zero point, also in that range), so it lies in [lo_c, hi_c] below;
    the requantization is non-decreasing in the accumulator (multiplier >= 0, shift <= 0),
    so equal values at both ends mean a constant channel. Exact for every input; the layer's
    outputs are unchanged. None when no channel is rewritten (nothing to gain when every pair
    is in range, or when an out-of-range channel is not constant)."""
    w = np.moveaxis(weights.astype(np.int64), channel_axis, 0).reshape(weights.shape[channel_axis], -1)
    m, s = multiplier.reshape(-1), shift.reshape(-1)
    if m.size != w.shape[0] or folded.size != w.shape[0]:
        return None
    slow = [c for c in range(w.shape[0]) if not rq_fast(int(m[c]), int(s[c]))]
    if not slow:
        return None
    lo = folded.astype(np.int64) + np.minimum(w * -128, w * 127).sum(axis=1)
    hi = folded.astype(np.int64) + np.maximum(w * -128, w * 127).sum(axis=1)
    values = {}
    for c in slow:
        mc, sc = int(m[c]), int(s[c])
        if mc < 0 or sc > 0:
            return None
        k = mbqm(int(lo[c]), mc, sc, single)
        if k != mbqm(int(hi[c]), mc, sc, single):
            return None   # the layer keeps a slow channel: rewriting the others gains nothing
        values[c] = max(-_CONST_LIMIT, min(_CONST_LIMIT, k))
    w_new, b_new = w.copy(), folded.astype(np.int32).reshape(-1).copy()
    m_new, s_new = m.astype(np.int32).copy(), s.astype(np.int32).copy()
    for c, k in values.items():
        w_new[c] = 0
        b_new[c] = _CONST_SCALE * k
        m_new[c], s_new[c] = _CONST_MULTIPLIER, _CONST_SHIFT
        assert mbqm(int(b_new[c]), _CONST_MULTIPLIER, _CONST_SHIFT, single) == k
    moved = np.moveaxis(w_new.reshape((weights.shape[channel_axis],) + tuple(np.delete(weights.shape, channel_axis))),
                        0, channel_axis)
    return ConstantChannels(moved.astype(weights.dtype), b_new, m_new.reshape(multiplier.shape),
                            s_new.reshape(shift.shape), tuple(sorted(values)))


def rq_table(multiplier: np.ndarray, shift: np.ndarray, output_offset: int) -> np.ndarray:
    """Per channel (multiplier, h, r) as tinyml_conv2d_1x1_s8_fast_w16 reads them (kernels.h):
    r = -shift - 1 and h = (2 * output_offset + 1) << r >> 1 in int32 (simd.h, tm_rq_fast_h),
    the fast requantization's constants made at compile time. All zeros when a channel or the
    offset is outside the fast range: the kernel then does not read the table."""
    m, s = multiplier.reshape(-1).astype(np.int64), shift.reshape(-1).astype(np.int64)
    if not (-128 <= output_offset <= 127 and all(rq_fast(int(a), int(b)) for a, b in zip(m, s))):
        return np.zeros(3 * m.size, np.int32)
    r = -s - 1
    wide = ((2 * output_offset + 1) << r) & 0xFFFFFFFF                # (uint32_t)(oo) << r
    h = np.where(wide >= 1 << 31, wide - (1 << 32), wide) >> 1       # int32, arithmetic shift
    return np.stack([m, h, r], axis=1).astype(np.int32).reshape(-1)
