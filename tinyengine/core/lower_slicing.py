"""Lowering of the ops that move bytes without arithmetic: SLICE and STRIDED_SLICE (a strided
copy, the TRANSPOSE kernel with an input offset), SPLIT, SPLIT_V and UNPACK (tinyml_split),
PACK (the CONCATENATION kernel) and GATHER with constant indices.

Each is exact for any quantization: TFLite copies the raw values too."""

from __future__ import annotations

import numpy as np

from .layers import MAX_DIMS, Layer, TensorArg, TensorListArg, contiguous_strides, right_align
from .lower_ctx import LowerCtx, element
from .params import ConcatParams, GatherParams, SplitParams, TransposeParams

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1


def _rank_ok(ctx: LowerCtx, *shapes: tuple[int, ...]) -> None:
    if max(len(s) for s in shapes) > MAX_DIMS:
        raise ctx.fail(f"more than {MAX_DIMS} dimensions")


def _int_vector(ctx: LowerCtx, i: int, role: str, length: int) -> list[int]:
    data = ctx.const(ctx.t(i), role).reshape(-1)
    if data.size != length:
        raise ctx.fail(f"{role} has {data.size} values for a {length}-d input")
    return [int(v) for v in data]


def _strided_copy(ctx: LowerCtx, shape: tuple[int, ...], starts: list[int], steps: list[int],
                  lengths: list[int]) -> Layer:
    """The layer copying x[starts[d] + k * steps[d] for k < lengths[d]] (row-major) to the output."""
    x, y = ctx.t(0), ctx.out()
    size, ctype = element(ctx, x)
    if int(np.prod(lengths, dtype=np.int64)) != y.num_elements:
        raise ctx.fail(f"the slice has shape {lengths} but the output '{y.name}' is {list(y.shape)}")
    contig = contiguous_strides(list(shape))
    pad = MAX_DIMS - len(shape)
    params = TransposeParams(out_shape=right_align(tuple(lengths)),
                             in_strides=(0,) * pad + tuple(c * s for c, s in zip(contig, steps)),
                             element_size=size, in_offset=sum(b * c for b, c in zip(starts, contig)))
    arg = ctx.act_arg(0) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, ctx.out_arg(ctype)])


def slice_op(ctx: LowerCtx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    _rank_ok(ctx, x.shape)
    rank = len(x.shape)
    begin = _int_vector(ctx, 1, "begin", rank)
    size = _int_vector(ctx, 2, "size", rank)
    lengths = []
    for d, (b, n, dim) in enumerate(zip(begin, size, x.shape)):
        n = dim - b if n == -1 else n
        if b < 0 or n < 0 or b + n > dim:
            raise ctx.fail(f"slice [{b}, {b + n}) is outside axis {d} of length {dim}")
        lengths.append(n)
    if tuple(lengths) != tuple(y.shape):
        raise ctx.fail(f"the slice has shape {lengths} but the output '{y.name}' is {list(y.shape)}")
    return _strided_copy(ctx, x.shape, begin, [1] * rank, lengths)


def _axis_start(begin: int, stride: int, size: int, masked: bool) -> int:
    """TFLite's StartForAxis (strided_slice_logic.h)."""
    if size == 0:
        return 0
    start = (_INT_MIN if stride > 0 else _INT_MAX) if masked else begin
    if start < 0:
        start += size
    return min(max(start, 0), size) if stride > 0 else min(max(start, -1), size - 1)


def _axis_stop(end: int, stride: int, size: int, start: int, masked: bool, shrink: bool) -> int:
    """TFLite's StopForAxis."""
    if size == 0:
        return 0
    if shrink:
        return start + 1
    stop = (_INT_MAX if stride > 0 else _INT_MIN) if masked else end
    if stop < 0:
        stop += size
    return min(max(stop, 0), size) if stride > 0 else min(max(stop, -1), size - 1)


def strided_slice(ctx: LowerCtx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    _rank_ok(ctx, x.shape)
    o = ctx.op.options
    for mask in ("ellipsisMask", "newAxisMask"):
        if o.get(mask, 0):
            raise ctx.fail(f"STRIDED_SLICE with {mask} is not supported")
    if o.get("offset", False):
        raise ctx.fail("STRIDED_SLICE with offset=true is not supported")
    rank = len(x.shape)
    begin = _int_vector(ctx, 1, "begin", rank)
    end = _int_vector(ctx, 2, "end", rank)
    strides = _int_vector(ctx, 3, "strides", rank)
    starts, lengths, kept = [], [], []
    for d in range(rank):
        s, dim = strides[d], x.shape[d]
        if s == 0:
            raise ctx.fail(f"stride 0 along axis {d}")
        shrink = bool(o.get("shrinkAxisMask", 0) >> d & 1)
        start = _axis_start(begin[d], s, dim, bool(o.get("beginMask", 0) >> d & 1))
        stop = _axis_stop(end[d], s, dim, start, bool(o.get("endMask", 0) >> d & 1), shrink)
        n = max(0, -(-(stop - start) // s)) if s > 0 else max(0, -(-(start - stop) // -s))
        if n and not 0 <= start < dim:
            raise ctx.fail(f"slice start {start} is outside axis {d} of length {dim}")
        starts.append(start if n else 0)
        lengths.append(n)
        if not shrink:
            kept.append(n)
    if tuple(kept) != tuple(y.shape):
        raise ctx.fail(f"the slice has shape {kept} but the output '{y.name}' is {list(y.shape)}")
    return _strided_copy(ctx, x.shape, starts, strides, lengths)


def _split_layer(ctx: LowerCtx, x_index: int, axis: int, squeezed: bool = False) -> Layer:
    """x split along `axis` into the op's outputs, in order, each as long as its own shape says
    (`squeezed`: UNPACK, each output one slice with the axis removed)."""
    x = ctx.t(x_index)
    _rank_ok(ctx, x.shape)
    size, ctype = element(ctx, x)
    outs = [ctx.out(i) for i in range(len(ctx.op.outputs))]
    if not outs:
        raise ctx.fail("no outputs")
    lengths = []
    for y in outs:
        shape = list(y.shape)
        if squeezed:
            shape.insert(axis, 1)
        n = shape[axis] if len(shape) == len(x.shape) else -1
        if y.dtype != x.dtype or n < 0 or shape[:axis] + shape[axis + 1:] != list(x.shape[:axis] + x.shape[axis + 1:]):
            raise ctx.fail(f"output '{y.name}' ({y.dtype} {list(y.shape)}) is not a part of {list(x.shape)} "
                           f"along axis {axis}")
        lengths.append(n)
    if sum(lengths) != x.shape[axis]:
        raise ctx.fail(f"the outputs take {sum(lengths)} of the {x.shape[axis]} values along axis {axis}")
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    inner = int(np.prod(x.shape[axis + 1:], dtype=np.int64)) * size
    params = SplitParams(num_outputs=len(outs), outer_size=outer,
                         copy_bytes=ctx.array("copy_bytes", "int32_t", np.array([n * inner for n in lengths],
                                                                                 dtype=np.int32)))
    arg = ctx.act_arg(x_index) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, TensorListArg(tuple(ctx.op.outputs), writable=True)])


def _axis(ctx: LowerCtx, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ctx.fail(f"axis {axis} is out of range for a {rank}-d input")
    return axis % rank


def split(ctx: LowerCtx) -> Layer:
    x = ctx.t(1)
    axis = _axis(ctx, int(ctx.const(ctx.t(0), "axis").reshape(-1)[0]), len(x.shape))
    return _split_layer(ctx, 1, axis)


def split_v(ctx: LowerCtx) -> Layer:
    x = ctx.t(0)
    axis = _axis(ctx, int(ctx.const(ctx.t(2), "axis").reshape(-1)[0]), len(x.shape))
    return _split_layer(ctx, 0, axis)


def unpack(ctx: LowerCtx) -> Layer:
    x = ctx.t(0)
    return _split_layer(ctx, 0, _axis(ctx, ctx.op.options.get("axis", 0), len(x.shape)), squeezed=True)


def pack(ctx: LowerCtx) -> Layer:
    y = ctx.out()
    _rank_ok(ctx, y.shape)
    size, ctype = element(ctx, y)
    axis = _axis(ctx, ctx.op.options.get("axis", 0), len(y.shape))
    inputs = [ctx.t(i) for i in range(len(ctx.op.inputs))]
    for t in inputs:
        if t.is_constant:
            raise ctx.fail(f"constant input '{t.name}' to PACK is not supported")
        if t.dtype != y.dtype or t.num_elements * len(inputs) != y.num_elements:
            raise ctx.fail(f"input '{t.name}' ({t.dtype} {list(t.shape)}) does not stack into {list(y.shape)}")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    copy = [t.num_elements // max(outer, 1) * size for t in inputs]
    params = ConcatParams(num_inputs=len(inputs), outer_size=outer,
                          copy_bytes=ctx.array("copy_bytes", "int32_t", np.array(copy, dtype=np.int32)))
    return ctx.layer(params, [TensorListArg(tuple(t.index for t in inputs)), ctx.out_arg("void")])


def gather(ctx: LowerCtx) -> Layer:
    x, idx, y = ctx.t(0), ctx.t(1), ctx.out()
    _rank_ok(ctx, x.shape, y.shape)
    size, ctype = element(ctx, x)
    if ctx.op.options.get("batchDims", 0):
        raise ctx.fail("GATHER with batch_dims is not supported")
    if not idx.is_constant:
        raise ctx.fail(f"indices '{idx.name}' must be a constant tensor")
    axis = _axis(ctx, ctx.op.options.get("axis", 0), len(x.shape))
    indices = idx.data.reshape(-1).astype(np.int64)
    dim = x.shape[axis]
    if indices.size and (indices.min() < 0 or indices.max() >= dim):
        raise ctx.fail(f"an index is outside [0, {dim}) along axis {axis}")
    expected = tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:])
    if expected != tuple(y.shape):
        raise ctx.fail(f"the gather has shape {list(expected)} but the output '{y.name}' is {list(y.shape)}")
    params = GatherParams(outer_size=int(np.prod(x.shape[:axis], dtype=np.int64)), axis_size=dim,
                          num_indices=int(indices.size),
                          inner_bytes=int(np.prod(x.shape[axis + 1:], dtype=np.int64)) * size,
                          indices=ctx.array("indices", "int32_t", indices.astype(np.int32)))
    arg = ctx.act_arg(0) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, ctx.out_arg(ctype)])
