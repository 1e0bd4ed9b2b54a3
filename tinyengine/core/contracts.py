"""Rounding contracts: which TFLite implementation the generated code reproduces.

`tflm`   TF-Lite Micro (what microcontrollers run; CMSIS-NN matches it). Every
         requantization uses gemmlowp's double rounding.
`litert` LiteRT with the BUILTIN_REF op resolver. Its FULLY_CONNECTED kernel
         requantizes with a single 64-bit rounding shift (TFLITE_SINGLE_ROUNDING);
         every other op rounds like TFLM. The table below is measured, see the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTRACTS = ("tflm", "litert")


@dataclass(frozen=True)
class Contract:
    name: str
    single_rounding_ops: frozenset[str] = field(default_factory=frozenset)
    # TFLM's RELU6 clamps in the input's quantization and never rescales to the output's.
    relu6_clamps_input_domain: bool = False
    # LiteRT 2.3.0's int8 SUM gives results its own kernels' source does not explain (measured:
    # an all-zero-point input sums to -1 where TFLM gives the output zero point): not reproduced.
    sum_supported: bool = True
    # RSQRT's output multiplier 1 / (sqrt(input_scale) * output_scale): TFLM takes the square root and the
    # product in double, LiteRT (std::sqrt of a float) in float32. Measured: on scale pairs where the two
    # multipliers give different outputs, each oracle matches its own formula only.
    rsqrt_scale_float32: bool = False
    # Whose integer LSTM arithmetic: LiteRT computes sigmoid and tanh with gemmlowp's int16 fixed
    # point, rounds the cell products once and does not saturate the gates' recurrent part on its
    # own, where TFLM uses its table and rounds twice (runtime_c: kernels.h, lstm_s8.c).
    lstm_litert: bool = False

    def rounding(self, op_kind: str) -> str:
        return "single" if op_kind in self.single_rounding_ops else "double"


# Measured, not assumed: with LiteRT 2.3.0's BUILTIN_REF kernels, per-tensor and
# per-channel FULLY_CONNECTED round once (the MLPerf AD model differs from TFLM on every
# input because of it), while CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL and MEAN round
# twice exactly like TFLM (single rounding there mismatches on MLPerf IC / KWS / VWW
# and on the op tests). For the other ops both oracles agree on every test case.
_LITERT_SINGLE = frozenset({"FULLY_CONNECTED"})


def get_contract(name: str) -> Contract:
    if name == "tflm":
        return Contract("tflm", relu6_clamps_input_domain=True)
    if name == "litert":
        return Contract("litert", _LITERT_SINGLE, sum_supported=False, lstm_litert=True,
                        rsqrt_scale_float32=True)
    from .errors import TinyMLError

    raise TinyMLError(f"unknown reference contract '{name}'; choose one of: {', '.join(CONTRACTS)}")
