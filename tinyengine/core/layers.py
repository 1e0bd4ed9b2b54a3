"""The types every pass and codegen share: a lowered `Layer` (one kernel call) and
its arguments (arena tensors, constant arrays in flash, scratch).

Nothing here knows about C text; codegen renders these objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_DIMS = 6


@dataclass(frozen=True)
class ConstArray:
    """A constant array placed in flash; `ctype` is the C element type."""

    name: str
    ctype: str
    data: np.ndarray = field(compare=False, repr=False)

    @property
    def nbytes(self) -> int:
        return int(self.data.size) * int(self.data.itemsize)


@dataclass(frozen=True)
class TensorArg:
    tensor: int
    ctype: str
    const: bool  # read-only input


@dataclass(frozen=True)
class TensorListArg:
    tensors: tuple[int, ...]


@dataclass(frozen=True)
class ScratchArg:
    pass


@dataclass(frozen=True)
class NullArg:
    ctype: str


Arg = TensorArg | TensorListArg | ConstArray | ScratchArg | NullArg


@dataclass(frozen=True)
class Layer:
    index: int
    op: str
    name: str                       # name of the op's (first) output tensor
    kernel: str | None              # runtime function, None for a view (RESHAPE)
    params_type: str | None
    params: dict[str, Any]
    args: tuple[Arg, ...]
    inputs: tuple[int, ...]         # activation tensors read
    outputs: tuple[int, ...]
    alias_of: int | None = None     # a view: output shares the input's memory
    inplace_of: int | None = None   # runs in place: output overwrites this input, which dies here
    overlaps: tuple[int, int] | None = None  # (input, d): the output may overlap that dying input if it
                                             # starts at most d bytes after it (see Plan.shared)
    scratch_bytes: int = 0
    macs: int = 0

    @property
    def consts(self) -> list[ConstArray]:
        found = [a for a in self.args if isinstance(a, ConstArray)]
        found += [v for v in _walk(self.params) if isinstance(v, ConstArray)]
        return found


def _walk(obj: Any):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    else:
        yield obj



def right_align(shape: tuple[int, ...]) -> list[int]:
    if len(shape) > MAX_DIMS:
        raise ValueError(shape)
    return [1] * (MAX_DIMS - len(shape)) + list(shape)


def contiguous_strides(shape: list[int]) -> list[int]:
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    return strides




def param_bytes_estimate(layers: list[Layer]) -> int:
    """Flash taken by the per-layer parameter structs (an upper bound: 4 bytes per scalar field)."""
    def count(v: Any) -> int:
        if isinstance(v, dict):
            return sum(count(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return 4 * len(v)
        return 4  # a scalar, or the pointer to a ConstArray (counted in the plan itself)
    return sum(count(layer.params) for layer in layers)
