"""Compile-time work for the fast kernels: fold `input_offset x sum(weights)` into the bias.

The reference kernels compute sum((x + input_offset) * w) + bias; the fast ones
compute sum(x * w) + folded_bias with folded_bias[c] = bias[c] + input_offset *
sum_k w[c, k], the same integer. Padded taps then read the input zero point
(-input_offset) and add 0, as the reference adds nothing for them."""

from __future__ import annotations

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
