"""The model validator: between the reader and the lowering, check once, at compile time, what
TF-Lite Micro's Prepare checks at run time, so that no later stage meets a graph it was not
written for and no kernel writes outside the buffer the planner gives it.

Each rule raises a MalformedModelError naming the op (kind and index) or tensor, in one line:
- every tensor index in range; each op has at least its kind's inputs and one output;
- the subgraph's inputs and outputs are activations (not constants or variables), listed once;
  each output is produced by some op or is also an input (an input no op reads is allowed, as
  TFLite allows it: the converter keeps inputs a model ignores);
- no op writes a constant, a graph input, a variable or a tensor it reads; no tensor is
  written twice; the ops are in an order where every activation is produced before it is read
  (so the graph is acyclic);
- ranks within the kernels' limit; quantization: scales finite and > 0, one zero point per
  scale, zero points in their type's range, per-channel scales on an existing axis, one per
  slice of it;
- each op's declared output shape is what its kind computes from its inputs (convolutions and
  pools from stride, dilation and padding; FULLY_CONNECTED from batches and units; element-wise
  ops their input's shape or the broadcast shape; reductions, concatenation, PAD, reshapes),
  since the planner sizes every buffer from the declared shape."""

from __future__ import annotations

import math

import numpy as np

from .errors import MalformedModelError
from .ir import Graph, Op, Tensor
from .layers import MAX_DIMS
from .lower import SUPPORTED_OPS

_MIN_INPUTS = {
    "CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3, "ADD": 2, "SUB": 2, "MUL": 2,
    "MAXIMUM": 2, "MINIMUM": 2, "SQUARED_DIFFERENCE": 2, "PRELU": 2, "BATCH_MATMUL": 2, "PAD": 2, "PADV2": 2,
    "MEAN": 2, "SUM": 2, "REDUCE_MAX": 2, "TRANSPOSE": 2, "SLICE": 3, "STRIDED_SLICE": 4, "SPLIT": 2, "SPLIT_V": 3,
    "GATHER": 2, "RESIZE_NEAREST_NEIGHBOR": 2, "UNIDIRECTIONAL_SEQUENCE_LSTM": 24, "SVDF": 5,
}
# ops whose kernels take a fixed number of inputs (TF-Lite Micro's Prepare checks the count)
_MAX_INPUTS = {**{k: 2 for k in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE", "PRELU",
                                 "BATCH_MATMUL")},
               **{k: 1 for k in ("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6",
                                 "RELU_N1_TO_1", "LEAKY_RELU", "RSQRT", "QUANTIZE", "DEQUANTIZE", "AVERAGE_POOL_2D",
                                 "MAX_POOL_2D")}}
_SAME_SHAPE = {"SOFTMAX", "LOG_SOFTMAX", "QUANTIZE", "DEQUANTIZE", "LOGISTIC", "TANH", "HARD_SWISH", "RELU", "RELU6",
               "RELU_N1_TO_1", "LEAKY_RELU", "RSQRT"}
_BROADCAST = {"ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"}
_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(1 << 31), (1 << 31) - 1)}


def validate(graph: Graph) -> None:
    """Raise MalformedModelError for the first rule `graph` breaks."""
    n = len(graph.tensors)
    for what, ts in (("input", graph.inputs), ("output", graph.outputs)):
        for t in ts:
            if not 0 <= t < n:
                raise MalformedModelError(f"'{graph.name}': subgraph {what} {t} is not a tensor (the model has {n})")
    for tensor in graph.tensors:
        _check_tensor(graph, tensor)
    _check_interface(graph)
    _check_order(graph)
    for op in graph.ops:
        _check_op(graph, op)


def _fail(graph: Graph, op: Op, why: str) -> MalformedModelError:
    return MalformedModelError(f"{graph.describe_op(op)}: {why}")


def _check_tensor(graph: Graph, t: Tensor) -> None:
    where = f"'{graph.name}': tensor '{t.name}'"
    if len(t.shape) > MAX_DIMS:
        raise MalformedModelError(f"{where} has rank {len(t.shape)}; at most {MAX_DIMS} dimensions are supported")
    q = t.quant
    if q is None:
        return
    for s in q.scales:
        if not math.isfinite(s) or s <= 0:
            raise MalformedModelError(f"{where} has quantization scale {s}; scales must be finite and > 0")
    if len(q.zero_points) != len(q.scales):
        raise MalformedModelError(f"{where} has {len(q.scales)} scales but {len(q.zero_points)} zero points")
    lo, hi = _RANGES.get(t.dtype, (-(1 << 31), (1 << 31) - 1))
    for z in q.zero_points:
        if not lo <= z <= hi:
            raise MalformedModelError(f"{where} ({t.dtype}) has zero point {z}, outside [{lo}, {hi}]")
    if q.per_channel:
        if len(t.shape) == 1 and len(q.scales) == t.shape[0]:
            # a 1-d tensor (a bias) has one axis whatever quantized_dimension says: older
            # exporters wrote the filter's axis there, and TF-Lite Micro reads it per element
            return
        if not 0 <= q.axis < len(t.shape):
            raise MalformedModelError(f"{where} is quantized per channel on axis {q.axis}, "
                                      f"which its shape {list(t.shape)} does not have")
        if len(q.scales) != t.shape[q.axis]:
            raise MalformedModelError(f"{where} has {len(q.scales)} scales for {t.shape[q.axis]} channels "
                                      f"(axis {q.axis} of {list(t.shape)})")


def _check_interface(graph: Graph) -> None:
    written = {t for op in graph.ops for t in op.outputs}
    for what, ts in (("input", graph.inputs), ("output", graph.outputs)):
        if len(set(ts)) != len(ts):
            raise MalformedModelError(f"'{graph.name}': a tensor is listed twice as a subgraph {what}")
        for t in ts:
            tensor = graph.tensors[t]
            if tensor.is_constant or tensor.is_variable:
                kind = "constant" if tensor.is_constant else "variable"
                raise MalformedModelError(f"'{graph.name}': subgraph {what} '{tensor.name}' is a {kind} tensor, "
                                          "not an activation")
    for t in graph.outputs:
        if t not in written and t not in graph.inputs:
            raise MalformedModelError(f"'{graph.name}': subgraph output '{graph.tensors[t].name}' is produced by no op")


def _check_order(graph: Graph) -> None:
    ready = set(graph.inputs)
    for op in graph.ops:
        if not op.outputs:
            raise _fail(graph, op, "has no output")
        need = _MIN_INPUTS.get(op.kind, 1 if op.kind in SUPPORTED_OPS else 0)
        if len(op.inputs) < need or (need and op.inputs[0] < 0):
            raise _fail(graph, op, f"has {len(op.inputs)} inputs; {op.kind} needs at least {need}")
        most = _MAX_INPUTS.get(op.kind)
        if most is not None and len(op.inputs) > most:
            raise _fail(graph, op, f"has {len(op.inputs)} inputs; {op.kind} takes {most}")
        for t in op.inputs:
            if t < 0:
                continue
            tensor = graph.tensors[t]
            if not (tensor.is_constant or tensor.is_variable or t in ready):
                raise _fail(graph, op, f"reads '{tensor.name}' before any op produces it (the ops are out of "
                                       "order or form a cycle, or the tensor is never written)")
        for t in op.outputs:
            if t < 0:
                raise _fail(graph, op, "has an absent (-1) output")
            tensor = graph.tensors[t]
            if t in op.inputs:
                raise _fail(graph, op, f"writes '{tensor.name}', which it also reads")
            if tensor.is_constant or tensor.is_variable:
                raise _fail(graph, op, f"writes '{tensor.name}', a {'constant' if tensor.is_constant else 'variable'} "
                                       "tensor")
            if t in ready:
                what = "a subgraph input" if t in graph.inputs else "already written by an earlier op"
                raise _fail(graph, op, f"writes '{tensor.name}', {what}")
            ready.add(t)


def _check_op(graph: Graph, op: Op) -> None:
    """The op's declared output shape against what its kind computes."""
    ts = graph.tensors
    if not op.inputs or op.inputs[0] < 0:
        return
    x = ts[op.inputs[0]]
    y = ts[op.outputs[0]]
    o = op.options
    expected: tuple[int, ...] | None = None
    if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"):
        expected = _spatial_shape(graph, op, x, y)
    elif op.kind == "FULLY_CONNECTED":
        w = ts[op.inputs[1]]
        if len(w.shape) == 2 and w.shape[1] > 0 and x.num_elements % w.shape[1] == 0:
            batches, units = x.num_elements // w.shape[1], w.shape[0]
            if y.num_elements != batches * units:
                raise _fail(graph, op, f"output '{y.name}' has shape {list(y.shape)}; {batches} batches x {units} "
                                       f"units need {batches * units} values")
    elif op.kind in _SAME_SHAPE:
        expected = x.shape
    elif op.kind in _BROADCAST:
        expected = _broadcast_shape(graph, op, x.shape, ts[op.inputs[1]].shape)
    elif op.kind in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
        if x.num_elements != y.num_elements:
            raise _fail(graph, op, f"reshapes {list(x.shape)} ({x.num_elements} values) to {list(y.shape)} "
                                   f"({y.num_elements})")
    elif op.kind == "CONCATENATION":
        expected = _concat_shape(graph, op)
    elif op.kind in ("PAD", "PADV2"):
        pads = ts[op.inputs[1]]
        if pads.data is not None and pads.data.size == 2 * len(x.shape):
            p = pads.data.reshape(-1, 2).astype(np.int64)
            expected = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, p))
    elif op.kind in ("MEAN", "SUM", "REDUCE_MAX"):
        axes = ts[op.inputs[1]]
        if axes.data is not None and len(x.shape):
            red = {int(a) % len(x.shape) for a in axes.data.reshape(-1)}
            keep = bool(o.get("keepDims", False))
            expected = tuple(1 if d in red else s for d, s in enumerate(x.shape) if keep or d not in red)
    if expected is not None and tuple(y.shape) != tuple(expected):
        raise _fail(graph, op, f"output '{y.name}' has shape {list(y.shape)}; {op.kind} of its inputs gives "
                               f"{list(expected)}")


def _spatial_shape(graph: Graph, op: Op, x: Tensor, y: Tensor) -> tuple[int, ...]:
    o = op.options
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise _fail(graph, op, f"expects 4-d NHWC tensors, got input {list(x.shape)} and output {list(y.shape)}")
    sh, sw = int(o.get("strideH", 1)), int(o.get("strideW", 1))
    dh, dw = int(o.get("dilationHFactor", 1)), int(o.get("dilationWFactor", 1))
    if min(sh, sw, dh, dw) < 1:
        raise _fail(graph, op, f"stride {sh}x{sw} and dilation {dh}x{dw} must be at least 1")
    if op.kind.endswith("POOL_2D"):
        kh, kw, out_c = int(o.get("filterHeight", 1)), int(o.get("filterWidth", 1)), x.shape[3]
        if min(kh, kw) < 1:
            raise _fail(graph, op, f"filter {kh}x{kw} must be at least 1x1")
    else:
        w = graph.tensors[op.inputs[1]]
        if len(w.shape) != 4:
            raise _fail(graph, op, f"expects 4-d weights, got {list(w.shape)}")
        kh, kw = w.shape[1], w.shape[2]
        out_c = w.shape[3] if op.kind == "DEPTHWISE_CONV_2D" else w.shape[0]
    same = o.get("padding", 0) == 0

    def size(n: int, k: int, s: int, d: int) -> int:
        eff = (k - 1) * d + 1
        return -(-n // s) if same else max(-(-(n - eff + 1) // s), 0)

    return (x.shape[0], size(x.shape[1], kh, sh, dh), size(x.shape[2], kw, sw, dw), out_c)


def _broadcast_shape(graph: Graph, op: Op, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    rank = max(len(a), len(b))
    a2, b2 = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for p, q in zip(a2, b2):
        if p != q and 1 not in (p, q):
            raise _fail(graph, op, f"cannot broadcast {list(a)} with {list(b)}")
        out.append(q if p == 1 else p)
    return tuple(out)


def _concat_shape(graph: Graph, op: Op) -> tuple[int, ...] | None:
    shapes = [graph.tensors[t].shape for t in op.inputs if t >= 0]
    rank = len(shapes[0])
    if rank == 0:
        return None
    axis = int(op.options.get("axis", 0)) % rank
    for s in shapes:
        if len(s) != rank or any(d != e for k, (d, e) in enumerate(zip(s, shapes[0])) if k != axis):
            raise _fail(graph, op, f"concatenates {[list(s) for s in shapes]} along axis {axis}")
    return tuple(sum(s[axis] for s in shapes) if k == axis else d for k, d in enumerate(shapes[0]))
