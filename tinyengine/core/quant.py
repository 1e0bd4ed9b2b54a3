"""Quantization arithmetic done at compile time, mirroring TFLite's Prepare() code
exactly (the same float32 / float64 operations in the same order), so that the
integer parameters baked into the C code equal the ones the oracles compute."""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: ties away from zero (Python's round() is ties-to-even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


class MultiplierRangeError(ValueError):
    """A requantization multiplier the kernels cannot represent (from extreme scales)."""


MAX_SHIFT = 30   # the kernels shift an int32 left by at most this (tm_mbqm)


def quantize_multiplier(real: float, single_rounding: bool = False) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
    Raises MultiplierRangeError for a multiplier that is not finite or negative, or (double
    rounding: the left shift would pass 30) 2^30 or more; single rounding saturates there as
    LiteRT's QuantizeMultiplier does."""
    if not math.isfinite(real) or real < 0 or (real >= 2.0 ** MAX_SHIFT and not single_rounding):
        raise MultiplierRangeError(f"its requantization multiplier {real:g} is outside [0, 2^{MAX_SHIFT}) (the "
                                   "model's scales are too far apart for int8 kernels)")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if single_rounding and shift > 30:
        return (1 << 31) - 1, 30
    return q_fixed, shift


def f32(x: float) -> np.float32:
    return np.float32(x)


def quantize_f32(value: float, scale: float, zero_point: int) -> int:
    """zero_point + TfLiteRound(value / scale), all in float32 as TFLite does."""
    q = float(f32(value) / f32(scale))
    q = min(max(q, -2.0 ** 31), 2.0 ** 31)   # past int32 (a tiny scale): saturated, as every caller clamps
    return zero_point + round_half_away(q)


def activation_range(fused: int, scale: float, zero_point: int, op_name: str) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for an int8 output."""
    if fused == 0:  # NONE
        return INT8_MIN, INT8_MAX
    if fused == 1:  # RELU
        return max(INT8_MIN, quantize_f32(0.0, scale, zero_point)), INT8_MAX
    if fused == 2:  # RELU_N1_TO_1
        return (max(INT8_MIN, quantize_f32(-1.0, scale, zero_point)),
                min(INT8_MAX, quantize_f32(1.0, scale, zero_point)))
    if fused == 3:  # RELU6
        return (max(INT8_MIN, quantize_f32(0.0, scale, zero_point)),
                min(INT8_MAX, quantize_f32(6.0, scale, zero_point)))
    from .errors import UnsupportedModelError

    names = {4: "TANH", 5: "SIGN_BIT"}
    raise UnsupportedModelError(f"{op_name}: fused activation {names.get(fused, fused)} is not supported")


def input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius: the largest |input diff| that does not saturate."""
    if not 0 <= left_shift <= total_signed_bits:
        raise MultiplierRangeError(f"its input scaling needs a left shift of {left_shift}, outside [0, "
                                   f"{total_signed_bits}] (TF-Lite Micro cannot run it either)")
    max_input_rescaled = (1.0 * ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits))
                          / (1 << left_shift))
    return int(math.floor(max_input_rescaled))


def softmax_scaling(beta: float, input_scale: float, integer_bits: int,
                    single_rounding: bool) -> tuple[int, int]:
    """PreprocessSoftmaxScaling: (multiplier, left_shift) for beta * input_scale in Q(integer_bits)."""
    max_real = float((1 << 30) - 1) if single_rounding else float((1 << 31) - 1)
    real = min(float(beta) * float(input_scale) * (1 << (31 - integer_bits)), max_real)
    if not real > 1.0:   # TFLite's QuantizeMultiplierGreaterThanOne: TFLM's Prepare stops (aborts) otherwise
        raise MultiplierRangeError(f"beta x input scale x 2^{31 - integer_bits} is {real:g}, not above 1 "
                                   "(an input scale this small makes TF-Lite Micro's Prepare abort)")
    return quantize_multiplier(real, single_rounding)


def downscale_multiplier_int16(m: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (m + (1 << 15)) >> 16


def padding(in_size: int, out_size: int, filter_size: int, stride: int, dilation: int) -> int:
    """TFLite ComputePadding: the top/left padding (extra padding, if odd, goes bottom/right)."""
    effective = (filter_size - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(total, 0) // 2
