"""The types every pass and codegen share: a lowered `Layer` (one kernel call) and
its arguments (arena tensors, constant arrays in flash, scratch).

Nothing here knows about C text; codegen renders these objects."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAX_DIMS = 6   # TINYML_MAX_DIMS in runtime_c/include/tinyml/nd_index.h (tests/test_kernel_params.py)


@dataclass(frozen=True)
class ConstArray:
    """A constant array placed in flash; `ctype` is the C element type. `operand` marks a
    constant tensor passed where the kernel takes an activation (e.g. a constant ADD input)."""

    name: str
    ctype: str
    data: np.ndarray = field(compare=False, repr=False)
    operand: bool = False

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
    writable: bool = False   # an array of output pointers (SPLIT), else of read-only inputs (CONCATENATION)


@dataclass(frozen=True)
class ScratchArg:
    pass


@dataclass(frozen=True)
class StateArg:
    """A variable tensor (state kept between calls, tinyengine.core.state), read and written."""

    tensor: int
    ctype: str


@dataclass(frozen=True)
class NullArg:
    ctype: str


Arg = TensorArg | TensorListArg | ConstArray | ScratchArg | NullArg | StateArg


@dataclass(frozen=True)
class Layer:
    index: int
    op: str
    name: str                       # name of the op's (first) output tensor
    kernel: str | None              # runtime function, None for a view (RESHAPE)
    params: Any                     # a tinyengine.core.params dataclass (the C parameter struct), None for a view
    args: tuple[Arg, ...]
    inputs: tuple[int, ...]         # activation tensors read
    outputs: tuple[int, ...]
    alias_of: int | None = None     # a view: output shares the input's memory
    inplace_of: int | None = None   # runs in place: output overwrites this input, which dies here
    overlaps: tuple[int, int] | None = None  # (input, d): the output may overlap that dying input if it
                                             # starts at most d bytes after it (see Plan.shared)
    scratch_bytes: int = 0
    macs: int = 0
    variant: str | None = None      # the kernel variant chosen (tinyengine.core.variants), None for a view
    folded: tuple[str, ...] = ()    # ops of the model this layer also does (a PAD folded into a conv)

    @property
    def params_type(self) -> str | None:
        """The C struct type of `params`."""
        return None if self.params is None else type(self.params).C_TYPE

    @property
    def consts(self) -> list[ConstArray]:
        found = [a for a in self.args if isinstance(a, ConstArray)]
        found += [v for v in leaves(self.params) if isinstance(v, ConstArray)]
        return found

    @property
    def has_constant_operand(self) -> bool:
        return any(isinstance(a, ConstArray) and a.operand for a in self.args)


def leaves(params: Any) -> list[Any]:
    """The scalar fields of a parameter struct, nested structs flattened, in C order (an array,
    a tuple of ints, is one leaf)."""
    if params is None:
        return []
    if dataclasses.is_dataclass(params) and not isinstance(params, ConstArray):
        return [leaf for f in dataclasses.fields(params) for leaf in leaves(getattr(params, f.name))]
    return [params]


def struct_bytes_estimate(params: Any) -> int:
    """Flash of one parameter struct, an upper bound: 4 bytes per scalar field or pointer
    (the array it points to is counted with the constants), 4 per array element."""
    return sum(4 * len(v) if isinstance(v, tuple) else 4 for v in leaves(params))


def right_align(shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """A shape padded with leading 1s to MAX_DIMS (the kernels' N-d layout)."""
    if len(shape) > MAX_DIMS:
        raise ValueError(shape)
    return (1,) * (MAX_DIMS - len(shape)) + tuple(shape)


def contiguous_strides(shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Row-major element strides of `shape`."""
    strides = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    return tuple(strides)


def param_bytes_estimate(layers: list[Layer]) -> int:
    """Flash taken by the per-layer parameter structs (see struct_bytes_estimate)."""
    return sum(struct_bytes_estimate(layer.params) for layer in layers)
