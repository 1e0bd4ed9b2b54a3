"""Kernel selection: give every layer the fastest variant that runs it exactly as planned.

A pure pass over scheduled layers (after the in-place pass has fixed each layer's
memory arrangement). With `kernels="fast"`, a layer moves to the first fast variant
of its op (tinyengine.core.variants) that applies to its parameters and serves the
same memory arrangement: out of place, in place over its input, or overlapping its
dying input. A variant that takes a folded bias gets one, computed here
(tinyengine.core.fold). `kernels="reference"` keeps the reference kernels
everywhere, for comparison."""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import TinyMLError
from .fold import folded_bias
from .layers import ConstArray, Layer, NullArg, ScratchArg
from .variants import KERNEL_SETS, Memory, select

# axis of the output channel in each op's weights
_CHANNEL_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}


def _memory(layer: Layer) -> Memory:
    if layer.inplace_of is not None:
        return Memory.IN_PLACE
    if layer.overlaps is not None:
        return Memory.OVERLAP
    return Memory.OUT_OF_PLACE


def _with_fast(layer: Layer) -> Layer:
    v = select(layer.op, layer.params, _memory(layer), fast=True)
    if v is None:
        return layer
    x, w, b, y = layer.args[:4]
    if v.folded_bias:
        if not isinstance(w, ConstArray) or not isinstance(b, ConstArray | NullArg):
            return layer
        bias = b.data if isinstance(b, ConstArray) else None
        try:
            folded = folded_bias(bias, w.data, layer.params.input_offset, _CHANNEL_AXIS[layer.op])
        except OverflowError:
            return layer   # the reference kernel accumulates the offset term itself
        b = ConstArray(f"L{layer.index}_folded_bias", "int32_t", np.ascontiguousarray(folded))
    scratch = v.scratch_bytes(layer.params)
    args = (x, w, b, y) + ((ScratchArg(),) if scratch else ())
    return dataclasses.replace(layer, kernel=v.kernel, variant=v.name, args=args, scratch_bytes=scratch)


def select_kernels(layers: list[Layer], kernels: str = "fast") -> list[Layer]:
    if kernels not in KERNEL_SETS:
        raise TinyMLError(f"unknown kernel set '{kernels}' (choose from {', '.join(KERNEL_SETS)})")
    if kernels == "reference":
        return layers
    return [layer if layer.kernel is None or layer.op not in _CHANNEL_AXIS else _with_fast(layer)
            for layer in layers]
