"""Lowering of the recurrent ops, whose state is kept in variable tensors (tinyengine.core.state)
from one call to the next: UNIDIRECTIONAL_SEQUENCE_LSTM (one kernel call over the whole
sequence) and SVDF.

LSTM (int8, TF-Lite Micro's integer LSTM):
TF-Lite Micro's Prepare fixes the arithmetic: every gate pre-activation is Q3.12 (scale
2^-12) and every gate Q0.15; the input and recurrent parts of a gate are requantized with
float32(s_input * s_weights) / 2^-12; the cell state's scale must be a power of two, 2^p;
forget x cell keeps the cell scale (2^30, shift -14), input x cell gate goes from 2^-30 to 2^p,
output x tanh(cell) from 2^-30 to the hidden state's scale (in double)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import quant as Q
from .layers import Layer, ScratchArg, StateArg, TensorArg
from .lower_ctx import LowerCtx
from .params import LstmArithmetic, LstmGate, LstmParams, Rounding, SvdfParams

GATES = ("input", "forget", "cell", "output")
_INPUT_WEIGHTS, _RECURRENT_WEIGHTS, _BIAS = 1, 5, 12     # + gate index
_PEEPHOLES, _PROJECTION, _LAYER_NORM = (9, 10, 11), (16, 17), (20, 21, 22, 23)
_HIDDEN, _CELL = 18, 19
_TANH = 4   # fusedActivationFunction of the cell gate
_GATE_SCALE = 2.0 ** -12


def lower_lstm(ctx: LowerCtx) -> Layer:
    op = ctx.op
    litert = ctx.contract.lstm_litert
    if len(op.inputs) != 24:
        raise ctx.fail(f"has {len(op.inputs)} inputs, an LSTM has 24")
    if not ctx.has_input(_INPUT_WEIGHTS):
        raise ctx.fail("has no input gate (CIFG); TF-Lite Micro's integer LSTM needs all four gates")
    for what, idx in (("peephole", _PEEPHOLES), ("projection", _PROJECTION), ("layer normalisation", _LAYER_NORM)):
        if any(ctx.has_input(i) for i in idx):
            raise ctx.fail(f"uses {what}, which TF-Lite Micro's integer LSTM does not support")
    if op.options.get("fusedActivationFunction", _TANH) != _TANH:
        raise ctx.fail("the cell gate's activation is not TANH")
    x, y = ctx.t(0), ctx.out()
    hidden, cell = ctx.t(_HIDDEN), ctx.t(_CELL)
    in_scale, in_zp = ctx.int8_act(x, "input")
    h_scale, h_zp = ctx.int8_act(hidden, "hidden state")
    ctx.int8_act(y, "output")
    for t, what in ((hidden, "hidden state"), (cell, "cell state")):
        if not t.is_variable:
            raise ctx.fail(f"{what} '{t.name}' is not a variable tensor")
    if cell.dtype != "int16" or cell.quant is None or cell.quant.per_channel:
        raise ctx.fail(f"cell state '{cell.name}' must be int16 with one scale (16x8 LSTMs are not supported)")
    power = math.log2(cell.quant.scale)
    if abs(power - round(power)) > 1e-3:
        raise ctx.fail(f"cell state '{cell.name}' has scale {cell.quant.scale}, not a power of two")
    power = round(power)
    if len(x.shape) != 3:
        raise ctx.fail(f"input '{x.name}' has shape {list(x.shape)}; an LSTM's input is 3-d")
    time_major = bool(op.options.get("timeMajor", False))
    steps, batches, size = (x.shape[0], x.shape[1], x.shape[2]) if time_major else (x.shape[1], x.shape[0], x.shape[2])
    w0 = ctx.t(_INPUT_WEIGHTS)
    units = w0.shape[0]
    if hidden.num_elements != batches * units or cell.num_elements != batches * units:
        raise ctx.fail(f"state tensors hold {hidden.num_elements} and {cell.num_elements} values, "
                       f"not batches x units = {batches * units}")
    if y.num_elements != steps * batches * units:
        raise ctx.fail(f"output '{y.name}' has shape {list(y.shape)}, the LSTM writes {steps} x {batches} x {units}")
    gates = {g: _gate(ctx, k, in_scale, in_zp, h_scale, h_zp, size, units) for k, g in enumerate(GATES)}
    clip = float(op.options.get("cellClip", 0.0))
    qclip = int(min(max(clip / float(cell.quant.scale), -32768.0), 32767.0)) if clip > 0 else 0
    left = 12 + power                                  # TFLM: (15 + power) - 3
    tanh_mult, tanh_shift = (3 << left, 0) if left >= 0 else (3, -left)
    if litert:
        if not -30 <= power <= -9:
            raise ctx.fail(f"cell state '{cell.name}' has scale 2^{power}; LiteRT's integer LSTM takes 2^-30 .. 2^-9")
        # LiteRT: the hidden state's scale and zero point from the op's fifth intermediate tensor
        # (the converter makes it equal the hidden state's), the effective scale stored as float32
        out_scale, out_zp = _hidden_intermediate(ctx, h_scale, h_zp)
        hm, hs = Q.quantize_multiplier(float(np.float32(2.0 ** -15 / out_scale * 2.0 ** -15)), ctx.single)
    else:
        out_zp = h_zp
        hm, hs = Q.quantize_multiplier(2.0 ** -15 * 2.0 ** -15 / float(h_scale), ctx.single)
    params = LstmParams(
        batches=batches, time_steps=steps, input_size=size, units=units, time_major=int(time_major),
        input_gate=gates["input"], forget_gate=gates["forget"], cell_gate=gates["cell"], output_gate=gates["output"],
        input_cell_shift=-29 - power, cell_clip=qclip, has_cell_clip=int(clip > 0), tanh_multiplier=tanh_mult,
        tanh_shift=tanh_shift, hidden_multiplier=hm, hidden_shift=hs, hidden_zero_point=out_zp,
        rounding=_rounding(ctx), arithmetic=LstmArithmetic.LITERT if litert else LstmArithmetic.TFLM,
        cell_scale_log2=power)
    args = [TensorArg(x.index, "int8_t", True), ctx.out_arg(), StateArg(hidden.index, "int8_t"),
            StateArg(cell.index, "int16_t"), ScratchArg()]
    layer = ctx.layer(params, args, macs=steps * batches * 4 * units * (size + units))
    inputs = tuple(t for t in layer.inputs if t not in (hidden.index, cell.index))
    return dataclasses.replace(layer, inputs=inputs)


def _hidden_intermediate(ctx: LowerCtx, h_scale: float, h_zp: int) -> tuple[float, int]:
    """The scale and zero point LiteRT requantizes the hidden output with: those of the op's
    intermediate #4 (effective_hidden_scale_intermediate) where the converter recorded it, else
    the hidden state's."""
    found = ctx.op.intermediates
    if len(found) < 5 or found[4] < 0:
        return float(h_scale), h_zp
    q = ctx.graph.tensors[found[4]].quant
    if q is None or q.per_channel or not q.scale > 0:
        raise ctx.fail(f"intermediate tensor '{ctx.graph.tensors[found[4]].name}' (the hidden output's scale) "
                       "has no single positive scale")
    return float(q.scale), int(q.zero_point)


def _rounding(ctx: LowerCtx) -> Rounding:
    return Rounding.SINGLE if ctx.single else Rounding.DOUBLE


def lower_svdf(ctx: LowerCtx) -> Layer:
    """SVDF with int8 input/output, int16 weights_time and state. The two multipliers are
    s_in * s_wf / s_state and s_state * s_wt / s_out: TFLM evaluates them in float32, LiteRT in
    double."""
    op = ctx.op
    if len(op.inputs) != 5:
        raise ctx.fail(f"has {len(op.inputs)} inputs, an SVDF has 5")
    x, wf, wt, state, y = ctx.t(0), ctx.t(1), ctx.t(2), ctx.t(4), ctx.out()
    in_scale, in_zp = ctx.int8_act(x, "input")
    out_scale, out_zp = ctx.int8_act(y, "output")
    if not state.is_variable:
        raise ctx.fail(f"state '{state.name}' is not a variable tensor")
    if wt.dtype != "int16" or state.dtype != "int16":
        raise ctx.fail(f"weights_time '{wt.name}' is {wt.dtype} and state '{state.name}' {state.dtype}; "
                       "only the int16 form is supported")
    for t, what in ((wf, "weights_feature"), (wt, "weights_time"), (state, "state")):
        if t.quant is None or t.quant.per_channel or t.quant.zero_point != 0:
            raise ctx.fail(f"{what} '{t.name}' must have one scale and zero point 0")
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
        raise ctx.fail(f"input {list(x.shape)}, weights_feature {list(wf.shape)} and weights_time "
                       f"{list(wt.shape)} must be 2-d")
    batches, size = x.shape
    filters, memory = wt.shape
    rank = int(op.options.get("rank", 0))
    if wf.shape != (filters, size) or rank <= 0 or filters % rank:
        raise ctx.fail(f"weights_feature {list(wf.shape)}, weights_time {list(wt.shape)} and rank {rank} "
                       f"do not fit an input of {size}")
    units = filters // rank
    if state.num_elements != batches * filters * memory:
        raise ctx.fail(f"state '{state.name}' holds {state.num_elements} values, not "
                       f"batches x filters x memory = {batches * filters * memory}")
    if y.num_elements != batches * units:
        raise ctx.fail(f"output '{y.name}' has shape {list(y.shape)}, the SVDF writes {batches} x {units}")
    wf_data = ctx.const(wf, "weights_feature").astype(np.int64)
    if ctx.has_input(3):
        b = ctx.t(3)
        bias = ctx.const(b, "bias").reshape(-1)
        if b.dtype != "int32" or bias.size != units:
            raise ctx.fail(f"bias '{b.name}' is {b.dtype} {list(b.shape)}, expected int32 [{units}]")
    else:
        bias = np.zeros(units, dtype=np.int32)
    s_in, s_wf, s_wt = in_scale, wf.quant.scale, wt.quant.scale
    s_state, s_out = state.quant.scale, out_scale
    if ctx.contract.name == "tflm":
        f = np.float32
        scale1 = float(f(f(s_in) * f(s_wf)) / f(s_state))
        scale2 = float(f(f(s_state) * f(s_wt)) / f(s_out))
    else:
        scale1 = float(s_in) * float(s_wf) / float(s_state)
        scale2 = float(s_state) * float(s_wt) / float(s_out)
    m1, sh1 = Q.quantize_multiplier(scale1, ctx.single)
    m2, sh2 = Q.quantize_multiplier(scale2, ctx.single)
    params = SvdfParams(
        batches=batches, input_size=size, filters=filters, rank=rank, memory=memory, units=units,
        feature_weights=ctx.array("feature_weights", "int8_t", wf_data.astype(np.int8)),
        feature_bias=ctx.array("feature_bias", "int32_t", _wrap32(-in_zp * wf_data.sum(axis=1))),
        time_weights=ctx.array("time_weights", "int16_t", ctx.const(wt, "weights_time").astype(np.int16)),
        bias=ctx.array("bias", "int32_t", bias.astype(np.int32)),
        feature_multiplier=m1, feature_shift=sh1, output_multiplier=m2, output_shift=sh2, output_zero_point=out_zp,
        rounding=_rounding(ctx))
    args = [TensorArg(x.index, "int8_t", True), ctx.out_arg(), StateArg(state.index, "int16_t")]
    layer = ctx.layer(params, args, macs=batches * filters * (size + memory))
    return dataclasses.replace(layer, inputs=(x.index,))


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 sums as the kernels' int32 arithmetic wraps them."""
    return ((v.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def _gate(ctx: LowerCtx, k: int, in_scale: float, in_zp: int, h_scale: float, h_zp: int, size: int,
          units: int) -> LstmGate:
    name = GATES[k]
    w_in, w_rec = ctx.t(_INPUT_WEIGHTS + k), ctx.t(_RECURRENT_WEIGHTS + k)
    parts = []
    for w, shape, act_scale, what in ((w_in, (units, size), in_scale, "input"),
                                      (w_rec, (units, units), h_scale, "recurrent")):
        data = ctx.const(w, f"{name} gate {what} weights")
        if w.dtype != "int8" or tuple(w.shape) != shape:
            raise ctx.fail(f"{name} gate {what} weights '{w.name}' are {w.dtype} {list(w.shape)}, "
                           f"expected int8 {list(shape)}")
        if w.quant is None or w.quant.per_channel or w.quant.zero_point != 0:
            raise ctx.fail(f"{name} gate {what} weights '{w.name}' must be int8 with one scale and zero point 0")
        real = float(np.float32(np.float32(act_scale) * np.float32(w.quant.scale))) / _GATE_SCALE
        parts.append((data.astype(np.int64), Q.quantize_multiplier(real, ctx.single)))
    if not ctx.has_input(_BIAS + k):
        raise ctx.fail(f"{name} gate has no bias")
    b = ctx.t(_BIAS + k)
    bias = ctx.const(b, f"{name} gate bias")
    if b.dtype != "int32" or bias.size != units:
        raise ctx.fail(f"{name} gate bias '{b.name}' is {b.dtype} {list(b.shape)}, expected int32 [{units}]")
    (wi, (mi, si)), (wr, (mr, sr)) = parts
    in_bias = (bias.astype(np.int64).reshape(-1) - in_zp * wi.sum(axis=1)).astype(np.int64)
    rec_bias = (-h_zp * wr.sum(axis=1)).astype(np.int64)
    return LstmGate(
        input_weights=ctx.array(f"{name}_input_weights", "int8_t", wi.astype(np.int8)),
        recurrent_weights=ctx.array(f"{name}_recurrent_weights", "int8_t", wr.astype(np.int8)),
        input_bias=ctx.array(f"{name}_input_bias", "int32_t", _wrap32(in_bias)),
        recurrent_bias=ctx.array(f"{name}_recurrent_bias", "int32_t", _wrap32(rec_bias)),
        input_multiplier=mi, input_shift=si, recurrent_multiplier=mr, recurrent_shift=sr)
