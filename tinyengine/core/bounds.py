"""Bounds by construction: for every kernel call, the bytes its parameters make it read or write
through each activation argument, checked against the buffer the plan gives that tensor (and a
constant operand's array), at compile time.

The extents come from the kernels' contracts in runtime_c/include/tinyml/kernels.h: a
convolution or pool touches its input and output dims, FULLY_CONNECTED batches x depth and
batches x units, an element-wise kernel `size` values, a broadcasting kernel its output shape and
each input up to the last element its strides reach, a strided copy (TRANSPOSE, SLICE) from
in_offset over its strides, and so on. A layer whose parameters would take a kernel past its
buffer is an internal error here, before any C is written; layers of a patched stage run on
patch buffers with per-patch parameters (core/patch.py) and are checked by their own geometry."""

from __future__ import annotations

import math

from . import params as P
from .errors import TinyMLError
from .ir import Graph
from .layers import ConstArray, Layer, TensorArg
from .planner import Plan

_CTYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4, "float": 4}


def _dims(d: P.Dims) -> int:
    return d.n * d.h * d.w * d.c


def _reach(shape: tuple[int, ...], strides: tuple[int, ...], offset: int = 0) -> tuple[int, int]:
    """(lowest, highest + 1) element index a strided walk over `shape` touches."""
    if any(d == 0 for d in shape):
        return 0, 0
    lo = offset + sum(min(0, (d - 1) * s) for d, s in zip(shape, strides))
    hi = offset + sum(max(0, (d - 1) * s) for d, s in zip(shape, strides))
    return lo, hi + 1


def extents(layer: Layer) -> tuple[list[tuple[int, int] | None], list[tuple[int, int] | None]]:
    """(inputs, outputs): for each activation input and output argument in order, the element
    range [lo, hi) the kernel touches, or None where this module does not model the kernel."""
    p = layer.params
    if isinstance(p, (P.Conv2DParams, P.DepthwiseConv2DParams, P.Pool2DParams)):
        return [(0, _dims(p.input))], [(0, _dims(p.output))]
    if isinstance(p, P.FullyConnectedParams):
        return [(0, p.batches * p.input_depth)], [(0, p.batches * p.units)]
    if isinstance(p, (P.AddParams, P.MulParams, P.PreluParams, P.MaxMinParams)):
        g = p.geometry
        return [_reach(g.out_shape, g.in1_strides), _reach(g.out_shape, g.in2_strides)], \
            [(0, math.prod(g.out_shape))]
    if isinstance(p, (P.LogisticParams, P.HardSwishParams, P.RequantizeParams, P.LeakyReluParams, P.RsqrtParams,
                      P.AffineParams)):
        return [(0, p.size)], [(0, p.size)]
    if isinstance(p, P.SoftmaxParams):
        return [(0, p.outer_size * p.depth)], [(0, p.outer_size * p.depth)]
    if isinstance(p, (P.MeanParams, P.ReduceMaxParams)):
        return [(0, math.prod(p.in_shape))], [(0, p.num_outputs)]
    if isinstance(p, P.PadParams):
        if layer.variant == "in-place":
            return [], [(0, math.prod(p.out_shape))]
        return [(0, math.prod(p.in_shape))], [(0, math.prod(p.out_shape))]
    if isinstance(p, P.TransposeParams):
        return [_reach(p.out_shape, p.in_strides, p.in_offset)], [(0, math.prod(p.out_shape))]
    if isinstance(p, P.ResizeNearestParams):
        return [(0, _dims(p.input))], [(0, _dims(p.output))]
    if isinstance(p, P.LstmParams):
        return [(0, p.batches * p.time_steps * p.input_size)], [(0, p.batches * p.time_steps * p.units)]
    if isinstance(p, P.SvdfParams):
        return [(0, p.batches * p.input_size)], [(0, p.batches * p.units)]
    return [], []


def _element_bytes(layer: Layer, ctype: str) -> int:
    p = layer.params
    if isinstance(p, (P.PadParams, P.TransposeParams, P.ResizeNearestParams)):
        return p.element_size
    return _CTYPE_BYTES.get(ctype, 1)


def _planned(graph: Graph, plan: Plan, t: int) -> int:
    """The bytes of the buffer the plan gives tensor `t` (an in-place PAD's input buffer is
    output-sized), checked to lie inside the arena."""
    root = plan.alias.get(t, t)
    for b in plan.buffers:
        if b.tensor == root:
            if b.offset < 0 or b.offset + b.size > plan.arena_bytes:
                raise TinyMLError(f"internal error: the buffer of '{graph.tensors[t].name}' ({b.offset}+{b.size}) "
                                  f"lies outside the {plan.arena_bytes}-byte arena; please report this model")
            return b.size
    return graph.tensors[t].nbytes


def check_bounds(graph: Graph, layers: list[Layer], plan: Plan, skip: frozenset[int] = frozenset()) -> None:
    """Raise TinyMLError (an internal error) if a kernel call would touch bytes outside the
    buffer of one of its activation arguments; `skip`: layers of a patched stage."""
    for layer in layers:
        if layer.kernel is None or layer.index in skip:
            continue
        ins, outs = extents(layer)
        operands = [a for a in layer.args if isinstance(a, TensorArg) or (isinstance(a, ConstArray) and a.operand)]
        readers = [a for a in operands if isinstance(a, ConstArray) or a.const]
        writers = [a for a in operands if isinstance(a, TensorArg) and not a.const]
        for args, ranges in ((readers, ins), (writers, outs)):
            for arg, span in zip(args, ranges):
                if span is None or span[1] <= span[0]:
                    continue
                lo, hi = span
                e = _element_bytes(layer, arg.ctype)
                if isinstance(arg, ConstArray):
                    have, name = arg.nbytes, arg.name
                else:
                    have, name = _planned(graph, plan, arg.tensor), graph.tensors[arg.tensor].name
                if lo < 0 or hi * e > have:
                    raise TinyMLError(
                        f"internal error: layer {layer.index} {layer.op} ({layer.kernel}) would touch bytes "
                        f"{lo * e}..{hi * e} of '{name}', whose buffer holds {have}; please report this model")
