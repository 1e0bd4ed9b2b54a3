"""Lower each IR op to one runtime kernel call with all parameters precomputed.

The result is a list of `Layer`s: the kernel to call (a function of the C runtime's
ABI, see runtime_c/include/tinyml/kernels.h), its parameter struct as plain data,
and its arguments (activation tensors, constant arrays, scratch). Nothing here
writes C; codegen renders these objects."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from . import lower_slicing
from . import quant as Q
from .contracts import Contract
from .errors import UnsupportedModelError
from .ir import Graph, Tensor
from .layers import (
    MAX_DIMS,
    Arg,
    Layer,
    NullArg,
    ScratchArg,
    TensorArg,
    TensorListArg,
    contiguous_strides,
    right_align,
)
from .lower_ctx import LowerCtx as _Ctx
from .lower_ctx import element as _element
from .lower_recurrent import lower_lstm, lower_svdf
from .params import (
    Activation,
    AddParams,
    AffineParams,
    BatchMatMulParams,
    Broadcast,
    ConcatParams,
    Conv2DParams,
    DepthwiseConv2DParams,
    Dims,
    FullyConnectedParams,
    HardSwishParams,
    LeakyReluParams,
    LogisticParams,
    MaxMinParams,
    MeanParams,
    MulParams,
    PadParams,
    PerChannelQuant,
    Pool2DParams,
    PreluParams,
    ReduceMaxParams,
    RequantizeParams,
    ResizeNearestParams,
    Rounding,
    RsqrtParams,
    SoftmaxParams,
    Tile,
    TransposeParams,
)

SUPPORTED_OPS = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "AVERAGE_POOL_2D",
    "MAX_POOL_2D", "MEAN", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "SOFTMAX", "LOG_SOFTMAX", "PAD",
    "PADV2", "QUANTIZE", "DEQUANTIZE", "CONCATENATION", "TRANSPOSE", "RESIZE_NEAREST_NEIGHBOR",
    "LOGISTIC", "HARD_SWISH", "RELU", "RELU6", "RELU_N1_TO_1", "RSQRT", "SLICE", "STRIDED_SLICE", "SPLIT",
    "SPLIT_V", "UNPACK", "PACK", "GATHER", "MAXIMUM", "MINIMUM", "SUB", "LEAKY_RELU", "SUM", "REDUCE_MAX",
    "TANH", "SQUARED_DIFFERENCE", "PRELU", "TRANSPOSE_CONV", "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM", "SVDF",
)


def lower_graph(graph: Graph, contract: Contract) -> list[Layer]:
    """Lower every op; raise UnsupportedModelError naming the first op that cannot be."""
    check_supported(graph)
    layers = []
    for op in graph.ops:
        ctx = _Ctx(graph, op, contract)
        try:
            layers.append(_LOWERINGS[op.kind](ctx))
        except (Q.MultiplierRangeError, _RankError) as exc:
            raise ctx.fail(str(exc)) from None
    return layers


def check_supported(graph: Graph) -> None:
    for op in graph.ops:
        if op.kind not in _LOWERINGS:
            raise UnsupportedModelError(
                f"unsupported op {graph.describe_op(op)}; supported ops: {', '.join(SUPPORTED_OPS)}")
    for op in graph.ops:
        for t in op.inputs + op.outputs:
            if t < 0:
                continue
            tensor = graph.tensors[t]
            if tensor.dtype == "float32" and not tensor.is_constant:
                edge_ok = (op.kind == "QUANTIZE" and t in op.inputs) or (op.kind == "DEQUANTIZE" and t in op.outputs)
                if not edge_ok:
                    raise UnsupportedModelError(
                        f"{graph.describe_op(op)} works on float32 tensor '{tensor.name}': only fully-int8 "
                        "models are supported (float32 is allowed only into QUANTIZE and out of DEQUANTIZE); "
                        "convert with full integer quantization")


class _RankError(ValueError):
    """A tensor that must be 4-d NHWC is not (lower_graph names the op)."""


def _dims(shape: tuple[int, ...]) -> Dims:
    if len(shape) != 4:
        raise _RankError(f"expects 4-d NHWC tensors, got shape {list(shape)}")
    return Dims(*shape)


def _rounding_enum(ctx: _Ctx) -> Rounding:
    return Rounding.SINGLE if ctx.single else Rounding.DOUBLE


def _per_channel_multipliers(ctx: _Ctx, in_scale: float, weights: Tensor, out_scale: float,
                             channels: int) -> tuple[np.ndarray, np.ndarray]:
    wq = weights.quant
    if wq is None:
        raise ctx.fail(f"weights '{weights.name}' have no quantization parameters")
    if any(z != 0 for z in wq.zero_points):
        raise ctx.fail(f"weights '{weights.name}' have a non-zero zero point; int8 weights must be symmetric")
    scales = list(wq.scales) if wq.per_channel else [wq.scale] * channels
    if len(scales) != channels:
        raise ctx.fail(f"weights '{weights.name}' have {len(scales)} scales for {channels} output channels")
    mults, shifts = [], []
    for s in scales:
        m, sh = Q.quantize_multiplier(float(in_scale) * float(s) / float(out_scale), ctx.single)
        mults.append(m)
        shifts.append(sh)
    return np.array(mults, dtype=np.int32), np.array(shifts, dtype=np.int32)


def _per_channel_quant(ctx: _Ctx, in_scale: float, weights: Tensor, out_scale: float,
                       channels: int) -> PerChannelQuant:
    """The layer's multiplier and shift arrays, per output channel (_per_channel_multipliers)."""
    mult, shift = _per_channel_multipliers(ctx, in_scale, weights, out_scale, channels)
    return PerChannelQuant(ctx.array("multiplier", "int32_t", mult), ctx.array("shift", "int32_t", shift))


def _conv_operands(ctx: _Ctx, x: Tensor, w: Tensor, y: Tensor) -> tuple[float, int, float, int, np.ndarray]:
    """A convolution's int8 input and output quantization (scale, zero point each) and its int8
    weights, checked: all three tensors 4-d."""
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    if w.dtype != "int8":
        raise ctx.fail(f"weights '{w.name}' are {w.dtype}; only int8 weights are supported")
    if len(x.shape) != 4 or len(w.shape) != 4 or len(y.shape) != 4:
        raise ctx.fail(f"expects 4-d NHWC tensors, got input {list(x.shape)}, weights {list(w.shape)}")
    return in_scale, in_zp, out_scale, out_zp, ctx.const(w, "weights")


def _bias_arg(ctx: _Ctx, index: int, channels: int) -> Arg:
    if not ctx.has_input(index):
        return NullArg("int32_t")
    bias = ctx.t(index)
    data = ctx.const(bias, "bias")
    if bias.dtype != "int32":
        raise ctx.fail(f"bias '{bias.name}' is {bias.dtype}; int8 kernels need int32 bias")
    if data.size != channels:
        raise ctx.fail(f"bias '{bias.name}' has {data.size} values for {channels} output channels")
    return ctx.array("bias", "int32_t", data.astype(np.int32).reshape(-1))


def _conv_common(ctx: _Ctx, depthwise: bool) -> Layer:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    in_scale, in_zp, out_scale, out_zp, wdata = _conv_operands(ctx, x, w, y)
    o = ctx.op.options
    stride_h, stride_w = o.get("strideH", 1), o.get("strideW", 1)
    dil_h, dil_w = o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)
    kh, kw = w.shape[1], w.shape[2]
    out_c = y.shape[3]
    quant = _per_channel_quant(ctx, in_scale, w, out_scale, out_c)
    if depthwise:
        dm = o.get("depthMultiplier", 0) or (out_c // x.shape[3])
        if x.shape[3] * dm != out_c:
            raise ctx.fail(f"depth multiplier {dm} x {x.shape[3]} input channels != {out_c} output channels")
        macs = y.shape[0] * y.shape[1] * y.shape[2] * out_c * kh * kw
    else:
        if w.shape[3] != x.shape[3]:
            raise ctx.fail(f"grouped convolution ({x.shape[3]} input channels, filter depth {w.shape[3]}) "
                           "is not supported")
        macs = y.shape[0] * y.shape[1] * y.shape[2] * out_c * kh * kw * x.shape[3]
    geometry = {
        "input": _dims(x.shape), "filter": _dims(w.shape), "output": _dims(y.shape),
        **({"depth_multiplier": dm} if depthwise else {}),
        "stride": Tile(stride_h, stride_w), "dilation": Tile(dil_h, dil_w),
        "pad": Tile(Q.padding(x.shape[1], y.shape[1], kh, stride_h, dil_h),
                    Q.padding(x.shape[2], y.shape[2], kw, stride_w, dil_w)),
    }
    params = (DepthwiseConv2DParams if depthwise else Conv2DParams)(
        **geometry, input_offset=-in_zp, output_offset=out_zp, activation=ctx.activation(out_scale, out_zp),
        rounding=_rounding_enum(ctx), quant=quant)
    args = [ctx.act_arg(0), ctx.array("weights", "int8_t", wdata.astype(np.int8)), _bias_arg(ctx, 2, out_c),
            ctx.out_arg()]
    return ctx.layer(params, args, macs=macs)


def _transpose_conv(ctx: _Ctx) -> Layer:
    """TRANSPOSE_CONV: inputs (output shape, weights C_out x KH x KW x C_in, input, bias); the
    padding is TFLite's, computed from the output size as a convolution's would be."""
    w, x, y = ctx.t(1), ctx.t(2), ctx.out()
    in_scale, in_zp, out_scale, out_zp, wdata = _conv_operands(ctx, x, w, y)
    if w.shape[3] != x.shape[3] or w.shape[0] != y.shape[3] or x.shape[0] != y.shape[0]:
        raise ctx.fail(f"weights {list(w.shape)} do not map input {list(x.shape)} to output {list(y.shape)}")
    o = ctx.op.options
    sh, sw = o.get("strideH", 1), o.get("strideW", 1)
    kh, kw = w.shape[1], w.shape[2]
    same = o.get("padding", 0) == 0   # tflite Padding.SAME

    def pad(out_size: int, k: int, stride: int) -> int:
        conv_out = -(-out_size // stride) if same else (out_size - k + stride) // stride
        return Q.padding(out_size, conv_out, k, stride, 1)

    out_c = y.shape[3]
    params = Conv2DParams(
        input=_dims(x.shape), filter=_dims(w.shape), output=_dims(y.shape), stride=Tile(sh, sw), dilation=Tile(1, 1),
        pad=Tile(pad(y.shape[1], kh, sh), pad(y.shape[2], kw, sw)), input_offset=-in_zp, output_offset=out_zp,
        activation=ctx.activation(out_scale, out_zp), rounding=_rounding_enum(ctx),
        quant=_per_channel_quant(ctx, in_scale, w, out_scale, out_c))
    args = [ctx.act_arg(2), ctx.array("weights", "int8_t", wdata.astype(np.int8)), _bias_arg(ctx, 3, out_c),
            ctx.out_arg(), ScratchArg()]
    macs = x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] * kh * kw * out_c
    return ctx.layer(params, args, macs=macs)


def _conv2d(ctx: _Ctx) -> Layer:
    return _conv_common(ctx, depthwise=False)


def _depthwise(ctx: _Ctx) -> Layer:
    return _conv_common(ctx, depthwise=True)


def _fully_connected(ctx: _Ctx) -> Layer:
    x, w, y = ctx.t(0), ctx.t(1), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    if w.dtype != "int8" or len(w.shape) != 2:
        raise ctx.fail(f"weights '{w.name}' must be 2-d int8, got {w.dtype} {list(w.shape)}")
    if ctx.op.options.get("weightsFormat", 0) != 0:
        raise ctx.fail("shuffled weights format is not supported")
    wdata = ctx.const(w, "weights")
    units, depth = w.shape
    if x.num_elements % depth:
        raise ctx.fail(f"input has {x.num_elements} elements, not a multiple of the weights' depth {depth}")
    batches = x.num_elements // depth
    per_channel = w.quant is not None and w.quant.per_channel
    mult, shift = _per_channel_multipliers(ctx, in_scale, w, out_scale, units)
    if not per_channel:
        mult, shift = mult[:1], shift[:1]
    params = FullyConnectedParams(
        batches=batches, input_depth=depth, units=units, input_offset=-in_zp, filter_offset=0, output_offset=out_zp,
        activation=ctx.activation(out_scale, out_zp), rounding=_rounding_enum(ctx), per_channel=int(per_channel),
        quant=PerChannelQuant(ctx.array("multiplier", "int32_t", mult), ctx.array("shift", "int32_t", shift)))
    args = [ctx.act_arg(0), ctx.array("weights", "int8_t", wdata.astype(np.int8)), _bias_arg(ctx, 2, units),
            ctx.out_arg()]
    return ctx.layer(params, args, macs=batches * units * depth)


def _broadcast_strides(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, ...] | None:
    """Element strides of a row-major `shape` read over `out` (both right-aligned to MAX_DIMS),
    0 on the broadcast dimensions; None if `shape` does not broadcast to `out`."""
    shape, out = right_align(shape), right_align(out)
    strides = list(contiguous_strides(shape))
    for d in range(MAX_DIMS):
        if shape[d] != out[d]:
            if shape[d] != 1:
                return None
            strides[d] = 0
    return tuple(strides)


def _broadcast(ctx: _Ctx, a: Tensor, b: Tensor, y: Tensor) -> Broadcast:
    if max(len(a.shape), len(b.shape), len(y.shape)) > MAX_DIMS:
        raise ctx.fail(f"more than {MAX_DIMS} dimensions")
    strides_of = [_broadcast_strides(t.shape, y.shape) for t in (a, b)]
    if None in strides_of:
        raise ctx.fail(f"cannot broadcast {list(a.shape)} with {list(b.shape)} to {list(y.shape)}")
    return Broadcast(right_align(y.shape), *strides_of)


def _prelu(ctx: _Ctx) -> Layer:
    """TFLite's int8 PRELU: x - zp >= 0 scaled by input/output, else (x - zp)(alpha - zp_alpha)
    scaled by input * alpha / output; alpha broadcast against the input."""
    x, alpha, y = ctx.t(0), ctx.t(1), ctx.out()
    si, zi = ctx.int8_act(x, "input")
    sa, za = ctx.int8_act(alpha, "alpha")
    so, zo = ctx.int8_act(y, "output")
    m1, sh1 = Q.quantize_multiplier(float(si) / float(so), ctx.single)
    m2, sh2 = Q.quantize_multiplier(float(si) * float(sa) / float(so), ctx.single)
    params = PreluParams(geometry=_broadcast(ctx, x, alpha, y), input_offset=-zi, alpha_offset=-za,
                         output_offset=zo, identity_multiplier=m1, identity_shift=sh1, alpha_multiplier=m2,
                         alpha_shift=sh2, rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.act_arg(1), ctx.out_arg()], macs=y.num_elements)


def _batch_matmul(ctx: _Ctx) -> Layer:
    """BATCH_MATMUL, int8: lhs [..., M, K] (or [..., K, M] with adj_x) times rhs [..., K, N] (or
    [..., N, K] with adj_y), batch dimensions broadcast, one per-tensor requantization."""
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    sa, za = ctx.int8_act(a, "lhs")
    sb, zb = ctx.int8_act(b, "rhs")
    so, zo = ctx.int8_act(y, "output")
    if min(len(a.shape), len(b.shape)) < 2 or max(len(a.shape), len(b.shape)) > 2 + 4:
        raise ctx.fail(f"operands {list(a.shape)} x {list(b.shape)}: ranks 2 to 6 are supported")
    adj_x, adj_y = bool(ctx.op.options.get("adjX", False)), bool(ctx.op.options.get("adjY", False))
    m, k = (a.shape[-1], a.shape[-2]) if adj_x else (a.shape[-2], a.shape[-1])
    k2, n = (b.shape[-1], b.shape[-2]) if adj_y else (b.shape[-2], b.shape[-1])
    if k != k2:
        raise ctx.fail(f"inner dimensions differ: {list(a.shape)} x {list(b.shape)}")
    if tuple(y.shape[-2:]) != (m, n) or len(y.shape) > MAX_DIMS:
        raise ctx.fail(f"the product of {list(a.shape)} x {list(b.shape)} is not the output '{y.name}' "
                       f"{list(y.shape)}")
    # batch strides: each operand's batch dimensions, with its matrix as one trailing element
    batch = tuple(y.shape[:-2])
    strides = []
    for t in (a, b):
        matrix = t.shape[-2] * t.shape[-1]
        s = _broadcast_strides(tuple(t.shape[:-2]) + (matrix,), batch + (matrix,))
        if s is None:
            raise ctx.fail(f"cannot broadcast the batch dimensions of {list(a.shape)} and {list(b.shape)} to "
                           f"{list(y.shape)}")
        strides.append((0,) + s[:-1])
    mult, shift = Q.quantize_multiplier(float(sa) * float(sb) / float(so), ctx.single)
    params = BatchMatMulParams(
        batch_shape=right_align(batch), lhs_batch_strides=strides[0], rhs_batch_strides=strides[1],
        rows=m, cols=n, depth=k, lhs_row_stride=1 if adj_x else k, lhs_depth_stride=m if adj_x else 1,
        rhs_depth_stride=1 if adj_y else n, rhs_col_stride=k if adj_y else 1, lhs_offset=-za, rhs_offset=-zb,
        output_offset=zo, output_multiplier=mult, output_shift=shift, activation=Activation(-128, 127),
        rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.act_arg(1), ctx.out_arg()], macs=y.num_elements * k)


def _max_min(ctx: _Ctx, minimum: bool) -> Layer:
    """MAXIMUM / MINIMUM: TFLite compares the raw int8 values, whatever their quantization."""
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    for t, role in ((a, "input 1"), (b, "input 2"), (y, "output")):
        ctx.int8_act(t, role)
    params = MaxMinParams(_broadcast(ctx, a, b, y), int(minimum))
    return ctx.layer(params, [ctx.act_arg(0), ctx.act_arg(1), ctx.out_arg()])


def _add_layer(ctx: _Ctx, mode: int) -> Layer:
    """ADD (mode 0), SUB (1: the scaled second input subtracted) and SQUARED_DIFFERENCE (2: the
    scaled difference squared) in TFLite's scheme: both inputs shifted left (20 bits of headroom,
    7 for SQUARED_DIFFERENCE), scaled by s_i / (2 max(s1, s2)), then the result rescaled by
    (2 max)^p / (2^(p * shift) * output scale), p = 2 when squared."""
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    s1, z1 = ctx.int8_act(a, "input 1")
    s2, z2 = ctx.int8_act(b, "input 2")
    so, zo = ctx.int8_act(y, "output")
    squared = mode == 2
    left_shift = 7 if squared else 20
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    m1, sh1 = Q.quantize_multiplier(float(s1) / twice_max, ctx.single)
    m2, sh2 = Q.quantize_multiplier(float(s2) / twice_max, ctx.single)
    power = 2 if squared else 1
    mo, sho = Q.quantize_multiplier(twice_max ** power / ((1 << (power * left_shift)) * float(so)), ctx.single)
    params = AddParams(
        geometry=_broadcast(ctx, a, b, y), left_shift=left_shift,
        input1_offset=-z1, input1_multiplier=m1, input1_shift=sh1,
        input2_offset=-z2, input2_multiplier=m2, input2_shift=sh2,
        output_offset=zo, output_multiplier=mo, output_shift=sho,
        activation=Activation(-128, 127) if squared else ctx.activation(so, zo), rounding=_rounding_enum(ctx),
        mode=mode)
    return ctx.layer(params, [ctx.act_arg(0), ctx.act_arg(1), ctx.out_arg()], macs=y.num_elements)


def _mul(ctx: _Ctx) -> Layer:
    a, b, y = ctx.t(0), ctx.t(1), ctx.out()
    s1, z1 = ctx.int8_act(a, "input 1")
    s2, z2 = ctx.int8_act(b, "input 2")
    so, zo = ctx.int8_act(y, "output")
    m, sh = Q.quantize_multiplier(float(s1) * float(s2) / float(so), ctx.single)
    params = MulParams(
        geometry=_broadcast(ctx, a, b, y), input1_offset=-z1, input2_offset=-z2, output_offset=zo,
        output_multiplier=m, output_shift=sh, activation=ctx.activation(so, zo), rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.act_arg(1), ctx.out_arg()], macs=y.num_elements)


def _pool(ctx: _Ctx, kind: str) -> Layer:
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    if (in_scale, in_zp) != (out_scale, out_zp):
        raise ctx.fail(f"input and output quantization differ ({in_scale},{in_zp}) vs ({out_scale},{out_zp})")
    if len(x.shape) != 4:
        raise ctx.fail(f"expects a 4-d NHWC input, got {list(x.shape)}")
    o = ctx.op.options
    fh, fw = o.get("filterHeight", 1), o.get("filterWidth", 1)
    sh, sw = o.get("strideH", 1), o.get("strideW", 1)
    params = Pool2DParams(
        input=_dims(x.shape), output=_dims(y.shape), filter=Tile(fh, fw), stride=Tile(sh, sw),
        pad=Tile(Q.padding(x.shape[1], y.shape[1], fh, sh, 1), Q.padding(x.shape[2], y.shape[2], fw, sw, 1)),
        activation=ctx.activation(out_scale, out_zp))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=y.num_elements * fh * fw)


def _reduction(ctx: _Ctx) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """(input shape, output strides with 0 on the reduced axes, outputs, values per output) of a
    reduction over the op's constant axes, right-aligned to MAX_DIMS."""
    x, y = ctx.t(0), ctx.out()
    if len(x.shape) > MAX_DIMS:
        raise ctx.fail(f"more than {MAX_DIMS} dimensions")
    rank = max(len(x.shape), 1)
    axes = sorted({int(a) % rank for a in ctx.const(ctx.t(1), "axis").reshape(-1)})
    in_shape = right_align(x.shape)
    pad = MAX_DIMS - len(x.shape)
    reduced = [d + pad for d in axes]
    out_shape = [1 if d in reduced else in_shape[d] for d in range(MAX_DIMS)]
    out_strides = list(contiguous_strides(out_shape))
    for d in reduced:
        out_strides[d] = 0
    num_outputs = int(np.prod(out_shape))
    if num_outputs != y.num_elements:
        raise ctx.fail(f"reducing {list(x.shape)} over axes {axes} gives {num_outputs} values, the output "
                       f"'{y.name}' has {y.num_elements}")
    return in_shape, tuple(out_strides), num_outputs, int(np.prod([in_shape[d] for d in reduced]))


def _reduce_max(ctx: _Ctx) -> Layer:
    """REDUCE_MAX: the raw int8 maximum, as TFLite takes it."""
    ctx.int8_act(ctx.t(0), "input")
    ctx.int8_act(ctx.out(), "output")
    in_shape, out_strides, num_outputs, _ = _reduction(ctx)
    params = ReduceMaxParams(in_shape=in_shape, out_strides=out_strides, num_outputs=num_outputs)
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=ctx.t(0).num_elements)


def _mean(ctx: _Ctx, compute_sum: bool = False) -> Layer:
    """MEAN, or SUM (TFLite's QuantizedMeanOrSum without the 1/n)."""
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    in_shape, out_strides, num_outputs, n = _reduction(ctx)
    if compute_sum and not ctx.contract.sum_supported:
        raise ctx.fail("SUM is not supported with --reference litert (LiteRT's int8 SUM is not reproduced; "
                       "TF-Lite Micro's, the default, is)")
    m, s = Q.quantize_multiplier(float(in_scale) / float(out_scale), ctx.single)
    if not compute_sum:
        # QuantizedMeanOrSum folds 1/n into the multiplier: floor(log2 n) bits of headroom.
        fold = min(n.bit_length() - 1, 32, 31 + s)
        m = (m << fold) // n
        s -= fold
    params = MeanParams(
        in_shape=in_shape, out_strides=tuple(out_strides), num_outputs=num_outputs, num_elements_in_axis=n,
        input_zero_point=in_zp, output_zero_point=out_zp, multiplier=m, shift=s, rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg(), ScratchArg()], macs=x.num_elements)


def _check_output_quant(ctx: _Ctx, scale: float, zero_point: int) -> None:
    y = ctx.out()
    out_scale, out_zp = ctx.int8_act(y, "output")
    if out_zp != zero_point or abs(out_scale - scale) > 1e-6 * scale:
        raise ctx.fail(f"int8 output must have scale {scale} and zero point {zero_point}, "
                       f"'{y.name}' has {out_scale} and {out_zp}")


def _softmax(ctx: _Ctx) -> Layer:
    x = ctx.t(0)
    in_scale, _ = ctx.int8_act(x, "input")
    _check_output_quant(ctx, 1.0 / 256, -128)
    beta = float(np.float32(ctx.op.options.get("beta", 1.0)))
    m, ls = Q.softmax_scaling(beta, in_scale, 5, ctx.single)
    depth = x.shape[-1]
    params = SoftmaxParams(
        outer_size=x.num_elements // depth, depth=depth, input_multiplier=m, input_left_shift=ls,
        diff_min=-Q.input_radius(5, ls), reverse_scaling_divisor=0, reverse_scaling_shift=0,
        rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=x.num_elements)


def _log_softmax(ctx: _Ctx) -> Layer:
    x = ctx.t(0)
    in_scale, _ = ctx.int8_act(x, "input")
    _check_output_quant(ctx, 16.0 / 256, 127)
    m, ls = Q.softmax_scaling(1.0, in_scale, 5, ctx.single)
    radius = Q.input_radius(5, ls)     # raises for a shift outside [0, 31]
    if m == 0:
        raise Q.MultiplierRangeError(f"input scale {in_scale:g} gives a zero multiplier")
    reverse = (1 << (31 - ls)) / float(m)
    rd, rs = Q.quantize_multiplier(reverse, ctx.single)
    depth = x.shape[-1]
    params = SoftmaxParams(
        outer_size=x.num_elements // depth, depth=depth, input_multiplier=m, input_left_shift=ls,
        diff_min=-radius, reverse_scaling_divisor=rd, reverse_scaling_shift=rs,
        rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=x.num_elements)


def _logistic(ctx: _Ctx, tanh: bool = False) -> Layer:
    """LOGISTIC, or TANH (the same input scaling; output scale 1/128, zero point 0)."""
    x = ctx.t(0)
    in_scale, in_zp = ctx.int8_act(x, "input")
    _check_output_quant(ctx, *((1.0 / 128, 0) if tanh else (1.0 / 256, -128)))
    real = float(in_scale) * float(1 << (31 - 4))
    if ctx.single:
        m, ls = Q.quantize_multiplier(real, True)
    else:
        q, ls = math.frexp(real)  # TFLM does not use QuantizeMultiplier here
        m = Q.round_half_away(q * (1 << 31))
    params = LogisticParams(
        size=x.num_elements, input_zero_point=in_zp, input_range_radius=Q.input_radius(4, ls),
        input_multiplier=m, input_left_shift=ls, rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=x.num_elements)


def _hard_swish(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    f = np.float32
    hires_input_scale = f(1.0 / 128.0) * f(in_scale)
    reluish_scale = f(3.0) / f(32768.0)
    om, oe = Q.quantize_multiplier(float(hires_input_scale / f(out_scale)), ctx.single)
    rm, re = Q.quantize_multiplier(float(hires_input_scale / reluish_scale), ctx.single)
    if oe > 0:
        raise ctx.fail(f"output scale {out_scale} is too small for input scale {in_scale}")
    params = HardSwishParams(
        size=x.num_elements, input_zero_point=in_zp, output_zero_point=out_zp,
        reluish_multiplier_fixedpoint_int16=Q.downscale_multiplier_int16(rm), reluish_multiplier_exponent=re,
        output_multiplier_fixedpoint_int16=Q.downscale_multiplier_int16(om), output_multiplier_exponent=oe)
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=x.num_elements)


def _requantize(ctx: _Ctx, act_lo: float | None, act_hi: float | None, float_multiplier: bool) -> Layer:
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    if float_multiplier:  # the activation kernels divide the scales in float32
        real = float(np.float32(in_scale) / np.float32(out_scale))
    else:
        real = float(in_scale) / float(out_scale)
    m, s = Q.quantize_multiplier(real, ctx.single)
    act_min = Q.INT8_MIN if act_lo is None else max(Q.INT8_MIN, Q.quantize_f32(act_lo, out_scale, out_zp))
    act_max = Q.INT8_MAX if act_hi is None else min(Q.INT8_MAX, Q.quantize_f32(act_hi, out_scale, out_zp))
    return _requantize_layer(ctx, in_zp, out_zp, m, s, act_min, act_max)


def _requantize_layer(ctx: _Ctx, in_zp: int, out_zp: int, multiplier: int, shift: int, act_min: int,
                      act_max: int) -> Layer:
    """out = clamp(out_zp + mbqm(x - in_zp, multiplier, shift), act_min, act_max)."""
    params = RequantizeParams(
        size=ctx.t(0).num_elements, input_zero_point=in_zp, output_zero_point=out_zp, multiplier=multiplier,
        shift=shift, activation=Activation(act_min, act_max), rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=ctx.t(0).num_elements)


def _leaky_relu(ctx: _Ctx) -> Layer:
    """TFLite's QuantizeLeakyRelu: the multipliers input_scale * alpha / output_scale and
    input_scale / output_scale, computed in float32 as TFLite does, then as doubles."""
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    alpha = np.float32(ctx.op.options.get("alpha", 0.2))
    si, so = np.float32(in_scale), np.float32(out_scale)
    ma, sa = Q.quantize_multiplier(float(si * alpha / so), ctx.single)
    mi, shi = Q.quantize_multiplier(float(si / so), ctx.single)
    params = LeakyReluParams(size=x.num_elements, input_zero_point=in_zp, output_zero_point=out_zp,
                             identity_multiplier=mi, identity_shift=shi, alpha_multiplier=ma, alpha_shift=sa,
                             rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()])


def _rsqrt(ctx: _Ctx) -> Layer:
    """TFLite's RsqrtEvalQuantized: 1/sqrt(x - zp_in) from GetInvSqrtQuantizedMultiplierExp, then the
    output multiplier 1 / (sqrt(input_scale) * output_scale). TFLM computes it in doubles, LiteRT
    takes the square root and the product in float32 (Contract.rsqrt_scale_float32)."""
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    si, so = np.float32(in_scale), np.float32(out_scale)
    if ctx.contract.rsqrt_scale_float32:
        real = 1.0 / float(np.sqrt(si) * so)
    else:
        real = 1.0 / (math.sqrt(float(si)) * float(so))
    m, s = Q.quantize_multiplier(real, ctx.single)
    if not -11 <= s <= 30:  # the kernel takes 20 bits of headroom back: shift - 20 must stay in [-31, 10]
        raise ctx.fail(f"1 / (sqrt(input scale {in_scale}) * output scale {out_scale}) = {real:.3g} is outside "
                       "the range the kernel handles [2^-12, 2^30)")
    params = RsqrtParams(size=x.num_elements, input_zero_point=in_zp, output_zero_point=out_zp, multiplier=m,
                         shift=s, rounding=_rounding_enum(ctx))
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg()], macs=x.num_elements)


def _relu6(ctx: _Ctx) -> Layer:
    if not ctx.contract.relu6_clamps_input_domain:
        return _requantize(ctx, 0.0, 6.0, float_multiplier=True)
    # TFLM: out = clamp(x, q(0), q(6)) with q() in the *input* quantization, no rescale.
    x = ctx.t(0)
    in_scale, in_zp = ctx.int8_act(x, "input")
    ctx.int8_act(ctx.out(), "output")
    six = min(Q.INT8_MAX, max(Q.INT8_MIN, Q.quantize_f32(6.0, in_scale, in_zp)))
    # multiplier 2^30 with shift 1 is exactly x1 under either rounding
    return _requantize_layer(ctx, 0, 0, 1 << 30, 1, in_zp, six)


def _quantize(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    if x.dtype == "int8":
        return _requantize(ctx, None, None, float_multiplier=False)
    if x.dtype != "float32":
        raise ctx.fail(f"QUANTIZE from {x.dtype} is not supported (float32 or int8 input)")
    out_scale, out_zp = ctx.int8_act(y, "output")
    params = AffineParams(size=x.num_elements, scale=float(np.float32(out_scale)), zero_point=out_zp)
    arg: Arg = (ctx.array("input0", "float", x.data.astype(np.float32), operand=True) if x.is_constant
                else TensorArg(x.index, "float", True))
    return ctx.layer(params, [arg, ctx.out_arg()], macs=x.num_elements)


def _dequantize(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    if y.dtype != "float32":
        raise ctx.fail(f"DEQUANTIZE to {y.dtype} is not supported (float32 only)")
    params = AffineParams(size=x.num_elements, scale=float(np.float32(in_scale)), zero_point=in_zp)
    return ctx.layer(params, [ctx.act_arg(0), ctx.out_arg("float")], macs=x.num_elements)


def _view(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    if x.num_elements != y.num_elements:
        raise ctx.fail(f"reshape from {list(x.shape)} to {list(y.shape)} changes the element count")
    if x.quant != y.quant and x.dtype == "int8":
        raise ctx.fail("a reshape that changes quantization parameters is not supported")
    return Layer(index=ctx.op.index, op=ctx.op.kind, name=y.name, kernel=None, params=None,
                 args=(), inputs=ctx.activation_inputs(), outputs=ctx.op.outputs, alias_of=x.index)


def _pad(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    size, ctype = _element(ctx, x)
    if x.dtype == "int8":
        ctx.int8_act(x, "input")
        out_scale, out_zp = ctx.int8_act(y, "output")
        if x.quant != y.quant:
            raise ctx.fail("input and output quantization differ")
    if len(x.shape) > MAX_DIMS:
        raise ctx.fail(f"more than {MAX_DIMS} dimensions")
    paddings = ctx.const(ctx.t(1), "paddings").reshape(-1, 2).astype(np.int64)
    if (paddings < 0).any():
        raise ctx.fail("negative padding is not supported")
    pad_value = 0
    if x.dtype == "int8":
        pad_value = y.quant.zero_point
        if ctx.op.kind == "PADV2" and ctx.has_input(2):
            pad_value = int(ctx.const(ctx.t(2), "constant_values").reshape(-1)[0])
    elif ctx.op.kind == "PADV2" and ctx.has_input(2):
        raise ctx.fail("PADV2 with a non-zero constant on a non-int8 tensor is not supported")
    before = (0,) * (MAX_DIMS - len(x.shape)) + tuple(int(p) for p in paddings[:, 0])
    params = PadParams(in_shape=right_align(x.shape), out_shape=right_align(y.shape), pad_before=before,
                       element_size=size, pad_value=pad_value)
    arg: Arg = ctx.act_arg(0) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, ctx.out_arg(ctype)])


def _concat(ctx: _Ctx) -> Layer:
    y = ctx.out()
    size, ctype = _element(ctx, y)
    axis = ctx.op.options.get("axis", 0) % len(y.shape)
    if ctx.op.options.get("fusedActivationFunction", 0) != 0:
        raise ctx.fail("fused activation on CONCATENATION is not supported")
    inputs = [ctx.t(i) for i in range(len(ctx.op.inputs))]
    for t in inputs:
        if y.dtype == "int8":
            ctx.int8_act(t, "input")
            if t.quant != y.quant:
                raise ctx.fail(f"input '{t.name}' has quantization ({t.quant.scale}, {t.quant.zero_point}) but the "
                               f"output has ({y.quant.scale}, {y.quant.zero_point}); inputs must share it")
        if t.is_constant:
            raise ctx.fail(f"constant input '{t.name}' to CONCATENATION is not supported")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    copy = [int(np.prod(t.shape[axis:], dtype=np.int64)) * size for t in inputs]
    params = ConcatParams(num_inputs=len(inputs), outer_size=outer,
                          copy_bytes=ctx.array("copy_bytes", "int32_t", np.array(copy, dtype=np.int32)))
    return ctx.layer(params, [TensorListArg(tuple(t.index for t in inputs)), ctx.out_arg("void")])


def _transpose(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    size, ctype = _element(ctx, x)
    if x.dtype == "int8" and x.quant != y.quant:
        raise ctx.fail("input and output quantization differ")
    perm = [int(p) % len(x.shape) for p in ctx.const(ctx.t(1), "perm").reshape(-1)]
    if sorted(perm) != list(range(len(x.shape))):
        raise ctx.fail(f"perm {perm} is not a permutation of the input's {len(x.shape)} dimensions")
    moved = [p for p in perm if x.shape[p] != 1]
    if moved == sorted(moved):
        # only dimensions of size 1 move (an NCHW input with one channel, [1,1,H,W] -> [1,H,W,1]):
        # the bytes are already in the output's order, so the transpose is a view
        return _view(ctx)
    if len(x.shape) > MAX_DIMS:
        raise ctx.fail(f"more than {MAX_DIMS} dimensions")
    in_strides = contiguous_strides(list(x.shape))
    pad = MAX_DIMS - len(x.shape)
    params = TransposeParams(out_shape=right_align(y.shape),
                             in_strides=(0,) * pad + tuple(in_strides[p] for p in perm), element_size=size)
    arg: Arg = ctx.act_arg(0) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, ctx.out_arg(ctype)])


def _nearest_index(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    f = np.float32
    if align_corners and out_size > 1:
        scale = f(in_size - 1) / f(out_size - 1)
    else:
        scale = f(in_size) / f(out_size)
    offset = f(0.5) if half_pixel else f(0.0)
    idx = []
    for i in range(out_size):
        v = (f(i) + offset) * scale
        src = Q.round_half_away(float(v)) if align_corners else int(np.floor(v))
        src = min(src, in_size - 1)
        if half_pixel:
            src = max(0, src)
        idx.append(src)
    return np.array(idx, dtype=np.int32)


def _resize_nearest(ctx: _Ctx) -> Layer:
    x, y = ctx.t(0), ctx.out()
    size, ctype = _element(ctx, x)
    if x.dtype == "int8" and x.quant != y.quant:
        raise ctx.fail("input and output quantization differ")
    if len(x.shape) != 4:
        raise ctx.fail(f"expects a 4-d NHWC input, got {list(x.shape)}")
    o = ctx.op.options
    align, half = bool(o.get("alignCorners", False)), bool(o.get("halfPixelCenters", False))
    params = ResizeNearestParams(
        input=_dims(x.shape), output=_dims(y.shape),
        y_index=ctx.array("y_index", "int32_t", _nearest_index(y.shape[1], x.shape[1], align, half)),
        x_index=ctx.array("x_index", "int32_t", _nearest_index(y.shape[2], x.shape[2], align, half)),
        element_size=size)
    arg: Arg = ctx.act_arg(0) if x.dtype == "int8" else TensorArg(x.index, ctype, True)
    return ctx.layer(params, [arg, ctx.out_arg(ctype)])


_LOWERINGS: dict[str, Callable[[_Ctx], Layer]] = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": lambda c: _add_layer(c, 0),
    "MUL": _mul,
    "AVERAGE_POOL_2D": lambda c: _pool(c, "avg"),
    "MAX_POOL_2D": lambda c: _pool(c, "max"),
    "MEAN": _mean,
    "RESHAPE": _view,
    "SQUEEZE": _view,
    "EXPAND_DIMS": _view,
    "SOFTMAX": _softmax,
    "LOG_SOFTMAX": _log_softmax,
    "PAD": _pad,
    "PADV2": _pad,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "CONCATENATION": _concat,
    "TRANSPOSE": _transpose,
    "RESIZE_NEAREST_NEIGHBOR": _resize_nearest,
    "LOGISTIC": _logistic,
    "HARD_SWISH": _hard_swish,
    "RELU": lambda c: _requantize(c, 0.0, None, float_multiplier=True),
    "RELU6": _relu6,
    "RELU_N1_TO_1": lambda c: _requantize(c, -1.0, 1.0, float_multiplier=True),
    "SLICE": lower_slicing.slice_op,
    "STRIDED_SLICE": lower_slicing.strided_slice,
    "SPLIT": lower_slicing.split,
    "SPLIT_V": lower_slicing.split_v,
    "UNPACK": lower_slicing.unpack,
    "PACK": lower_slicing.pack,
    "GATHER": lower_slicing.gather,
    "MAXIMUM": lambda c: _max_min(c, minimum=False),
    "MINIMUM": lambda c: _max_min(c, minimum=True),
    "SUB": lambda c: _add_layer(c, 1),
    "LEAKY_RELU": _leaky_relu,
    "RSQRT": _rsqrt,
    "SUM": lambda c: _mean(c, compute_sum=True),
    "REDUCE_MAX": _reduce_max,
    "TANH": lambda c: _logistic(c, tanh=True),
    "SQUARED_DIFFERENCE": lambda c: _add_layer(c, 2),
    "PRELU": _prelu,
    "TRANSPOSE_CONV": _transpose_conv,
    "BATCH_MATMUL": _batch_matmul,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": lower_lstm,
    "SVDF": lower_svdf,
}

assert set(_LOWERINGS) == set(SUPPORTED_OPS)
