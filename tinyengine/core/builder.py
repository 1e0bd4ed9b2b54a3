"""Build an int8 graph directly in the IR, without a .tflite file: per-tensor int8
activations, constants with per-channel (or no) quantization, and ops with TFLite's
option names. TinyNAS's exact cost model builds its candidates this way, and so do
the hand-built graphs of the pass tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Graph, Op, Quant, Tensor

_DTYPES = {np.dtype(np.int8): "int8", np.dtype(np.int32): "int32"}


class GraphBuilder:
    def __init__(self, seed: int = 0) -> None:
        self.tensors: list[Tensor] = []
        self.ops: list[Op] = []
        self.rng = np.random.default_rng(seed)

    def act(self, shape: tuple[int, ...], name: str, zero_point: int = 0, scale: float = 0.05) -> int:
        """A new int8 activation tensor; returns its index."""
        self.tensors.append(Tensor(len(self.tensors), name, shape, "int8", Quant((scale,), (zero_point,))))
        return len(self.tensors) - 1

    def const(self, data: np.ndarray, name: str, scales: tuple[float, ...] | None = None, axis: int = 0) -> int:
        """A constant tensor (int8 or int32), symmetric per-channel quantization along `axis` if `scales`."""
        quant = Quant(scales, (0,) * len(scales), axis) if scales else None
        self.tensors.append(Tensor(len(self.tensors), name, data.shape, _DTYPES[data.dtype], quant, data))
        return len(self.tensors) - 1

    def op(self, kind: str, inputs: list[int], outputs: list[int], **options: Any) -> None:
        self.ops.append(Op(len(self.ops), kind, tuple(inputs), tuple(outputs), options))

    def graph(self, name: str, inputs: tuple[int, ...], outputs: tuple[int, ...]) -> Graph:
        return Graph(name, tuple(self.tensors), tuple(self.ops), inputs, outputs)
