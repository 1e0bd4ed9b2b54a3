"""Rounding contracts: which TFLite implementation the generated code reproduces.

`tflm`   TF-Lite Micro (what microcontrollers run; CMSIS-NN matches it). Every
         requantization uses gemmlowp's double rounding.
`litert` LiteRT with the BUILTIN_REF op resolver. It is built with
         TFLITE_SINGLE_ROUNDING, which changes MultiplyByQuantizedMultiplier to a
         single 64-bit rounding shift. The per-op table below records which ops
         that reaches (measured against LiteRT 2.3.0, see tests/test_contracts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTRACTS = ("tflm", "litert")


@dataclass(frozen=True)
class Contract:
    name: str
    single_rounding_ops: frozenset[str] = field(default_factory=frozenset)

    def rounding(self, op_kind: str) -> str:
        return "single" if op_kind in self.single_rounding_ops else "double"


_LITERT_SINGLE = frozenset({
    "FULLY_CONNECTED", "ADD", "MUL", "MEAN", "SOFTMAX", "LOG_SOFTMAX",
    "LOGISTIC", "QUANTIZE", "RELU", "RELU6", "RELU_N1_TO_1", "HARD_SWISH",
})


def get_contract(name: str) -> Contract:
    if name == "tflm":
        return Contract("tflm")
    if name == "litert":
        return Contract("litert", _LITERT_SINGLE)
    from .errors import TinyMLError

    raise TinyMLError(f"unknown reference contract '{name}'; choose one of: {', '.join(CONTRACTS)}")
