"""What every lowering function gets: the op, its graph and contract, and helpers to read
tensors, make constant arrays and arguments, and build the Layer (tinyengine.core.lower)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import quant as Q
from .contracts import Contract
from .errors import UnsupportedModelError
from .ir import Graph, Op, Tensor
from .layers import Arg, ConstArray, Layer, TensorArg
from .params import Activation
from .variants import reference_variant


class LowerCtx:
    """Helpers shared by the lowering functions for one op."""

    def __init__(self, graph: Graph, op: Op, contract: Contract):
        self.graph, self.op, self.contract = graph, op, contract
        self.desc = graph.describe_op(op)

    def t(self, i: int) -> Tensor:
        return self.graph.tensors[self.op.inputs[i]]

    def out(self, i: int = 0) -> Tensor:
        return self.graph.tensors[self.op.outputs[i]]

    def has_input(self, i: int) -> bool:
        return len(self.op.inputs) > i and self.op.inputs[i] >= 0

    @property
    def rounding(self) -> str:
        return self.contract.rounding(self.op.kind)

    @property
    def single(self) -> bool:
        return self.rounding == "single"

    def fail(self, why: str) -> UnsupportedModelError:
        return UnsupportedModelError(f"{self.desc}: {why}")

    def int8_act(self, tensor: Tensor, role: str) -> tuple[float, int]:
        if tensor.dtype != "int8":
            raise self.fail(f"{role} '{tensor.name}' is {tensor.dtype}; only int8 activations are supported")
        if tensor.quant is None:
            raise self.fail(f"{role} '{tensor.name}' has no quantization parameters")
        if tensor.quant.per_channel:
            raise self.fail(f"{role} '{tensor.name}' is quantized per channel; activations must be per tensor")
        return tensor.quant.scale, tensor.quant.zero_point

    def const(self, tensor: Tensor, role: str) -> np.ndarray:
        if tensor.data is None:
            raise self.fail(f"{role} '{tensor.name}' must be a constant tensor")
        return tensor.data

    def array(self, suffix: str, ctype: str, data: np.ndarray, operand: bool = False) -> ConstArray:
        return ConstArray(f"L{self.op.index}_{suffix}", ctype, np.ascontiguousarray(data), operand)

    def act_arg(self, i: int) -> Arg:
        """An activation input: a constant array when the tensor is constant, else an arena tensor."""
        tensor = self.t(i)
        if tensor.is_constant:
            return self.array(f"input{i}", "int8_t", tensor.data.astype(np.int8), operand=True)
        return TensorArg(tensor.index, "int8_t", True)

    def out_arg(self, ctype: str = "int8_t") -> TensorArg:
        return TensorArg(self.op.outputs[0], ctype, False)

    def activation_inputs(self) -> tuple[int, ...]:
        return tuple(t for t in self.op.inputs if t >= 0 and not self.graph.tensors[t].is_constant)

    def activation(self, scale: float, zero_point: int) -> Activation:
        """The clamp of this op's fused activation in the output quantization."""
        lo, hi = Q.activation_range(self.op.options.get("fusedActivationFunction", 0), scale, zero_point, self.desc)
        return Activation(lo, hi)

    def layer(self, params: Any, args: list[Arg], **extra: Any) -> Layer:
        """The layer running this op's family's reference kernel (tinyengine.core.variants)."""
        variant = reference_variant(self.op.kind, params)
        return Layer(index=self.op.index, op=self.op.kind, name=self.out().name, kernel=variant.kernel,
                     params=params, args=tuple(args), inputs=self.activation_inputs(), outputs=self.op.outputs,
                     variant=variant.name, scratch_bytes=variant.scratch_bytes(params), **extra)


def element(ctx: LowerCtx, t: Tensor) -> tuple[int, str]:
    sizes = {"int8": (1, "int8_t"), "float32": (4, "float"), "int32": (4, "int32_t"), "int16": (2, "int16_t")}
    if t.dtype not in sizes:
        raise ctx.fail(f"tensor '{t.name}' has unsupported type {t.dtype}")
    return sizes[t.dtype]
