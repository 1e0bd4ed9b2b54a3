"""Graph IR: a typed, immutable view of one TFLite subgraph.

Tensors are referred to by their index in `Graph.tensors`; -1 marks an absent
optional input (e.g. a convolution without bias)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

DTYPE_BYTES = {
    "int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8,
    "float32": 4, "float16": 2, "float64": 8, "bool": 1,
}


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per `axis`."""

    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        return self.zero_points[0]


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = field(default=None, compare=False, repr=False)
    is_variable: bool = False   # state that persists between calls (an LSTM's hidden and cell state)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_BYTES[self.dtype]


@dataclass(frozen=True)
class Op:
    index: int
    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    intermediates: tuple[int, ...] = ()   # tensors the converter records for an op's internal scales (LSTM)


@dataclass(frozen=True)
class Graph:
    name: str
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @property
    def variables(self) -> tuple[int, ...]:
        """The variable tensors (state kept between calls), in index order."""
        return tuple(t.index for t in self.tensors if t.is_variable)

    def describe_op(self, op: Op) -> str:
        """'CONV_2D #3 (output 'model/conv1/Relu')': how errors and reports name an op."""
        out = self.tensors[op.outputs[0]].name if op.outputs else "?"
        return f"{op.kind} #{op.index} (output '{out}')"
