"""In-place execution: let a layer's output take over the buffer of an input that
dies at that layer, wherever the kernel can do it exactly.

* DEPTHWISE_CONV_2D with depth multiplier 1 switches to the in-place kernel,
  which needs one channel of scratch (input.h * input.w bytes, from
  tinyml_depthwise_conv2d_inplace_s8_scratch_size()); used when that scratch is
  smaller than the output it saves.
* A pointwise CONV_2D (1x1, stride 1, no padding) switches to the pixel-by-pixel
  kernel (C_in bytes of scratch) and its output may overlap its dying input by
  as much as the kernel allows (Layer.overlaps, Plan.shared): the pair costs
  about max(input, output) instead of their sum.
* PAD (one the padfold pass left) writes its padded copy back to front over its input, in
  a buffer of the output's size (tinyml_pad_inplace): the pair costs the output alone.
* ADD and MUL without broadcasting on that input, and the per-element ops
  (RELU, RELU6, RELU_N1_TO_1, int8 QUANTIZE, LOGISTIC, HARD_SWISH, TANH, LEAKY_RELU, RSQRT) read element
  i before writing element i, so they run unchanged with output == input.

A pure pass from lowered layers to lowered layers; the planner then gives the
output the input's buffer (their lifetimes merge)."""

from __future__ import annotations

import dataclasses

from .ir import Graph
from .layers import Layer, ScratchArg, TensorArg
from .params import Conv2DParams
from .variants import Memory, select

ELEMENTWISE = {"ADD", "MUL", "RELU", "RELU6", "RELU_N1_TO_1", "QUANTIZE", "LOGISTIC", "HARD_SWISH", "TANH",
               "LEAKY_RELU", "RSQRT"}


def _last_uses(graph: Graph, layers: list[Layer]) -> dict[int, int]:
    last: dict[int, int] = {}
    for layer in layers:
        for t in layer.inputs:
            last[t] = max(last.get(t, -1), layer.index)
    for t in graph.outputs:
        last[t] = len(layers)
    return last


def apply_inplace(graph: Graph, layers: list[Layer], skip: set[int] | frozenset[int] = frozenset()) -> list[Layer]:
    """`skip`: layer indices that must stay out of place (a patched stage)."""
    last = _last_uses(graph, layers)
    root: dict[int, int] = {}          # tensor -> buffer owner (views and accepted in-place outputs)
    members: dict[int, list[int]] = {}  # owner -> tensors sharing its buffer

    def owner(t: int) -> int:
        return root.get(t, t)

    def dies_here(t: int, index: int) -> bool:
        r = owner(t)
        if graph.tensors[r].is_constant or r in graph.outputs:
            return False
        return all(last.get(m, -1) <= index and m not in graph.outputs for m in [r, *members.get(r, [])])

    def share(out: int, src: int) -> None:
        r = owner(src)
        root[out] = r
        members.setdefault(r, []).append(out)

    result = []
    for layer in layers:
        if layer.alias_of is not None:
            share(layer.outputs[0], layer.alias_of)
            result.append(layer)
            continue
        chosen = None if layer.index in skip else _inplace_candidate(graph, layer, dies_here)
        if chosen is None:
            result.append(layer)
            continue
        new = _rewrite(graph, layer, chosen)
        if new is None:
            result.append(layer)
            continue
        if new.inplace_of is not None:
            share(layer.outputs[0], chosen)
        result.append(new)
    return result


def pointwise_overlap(params: Conv2DParams) -> int:
    """How far (bytes) the pixel-by-pixel 1x1 kernel's output may start after its input."""
    cin, cout = params.input.c, params.output.c
    return (cin - cout) * (1 if cin >= cout else params.output.pixels)


def _inplace_candidate(graph: Graph, layer: Layer, dies_here) -> int | None:
    if layer.kernel is None or len(layer.outputs) != 1:
        return None
    out = graph.tensors[layer.outputs[0]]
    if layer.op == "CONV_2D":
        if select(layer.op, layer.params, Memory.OVERLAP) is None or not layer.inputs:
            return None
        src = layer.inputs[0]
        return src if dies_here(src, layer.index) else None
    if layer.op == "DEPTHWISE_CONV_2D":
        if select(layer.op, layer.params, Memory.IN_PLACE) is None or not layer.inputs:
            return None
        src = layer.inputs[0]
        ok = graph.tensors[src].nbytes >= out.nbytes and dies_here(src, layer.index)
        return src if ok else None
    if layer.op in ("PAD", "PADV2"):
        if select(layer.op, layer.params, Memory.IN_PLACE) is None or len(layer.inputs) != 1:
            return None
        src = layer.inputs[0]
        return src if dies_here(src, layer.index) else None
    if layer.op in ELEMENTWISE:
        for src in layer.inputs:
            t = graph.tensors[src]
            if t.dtype == out.dtype and t.num_elements == out.num_elements and dies_here(src, layer.index):
                return src
    return None


def _rewrite(graph: Graph, layer: Layer, src: int) -> Layer | None:
    if layer.op == "CONV_2D":
        v = select(layer.op, layer.params, Memory.OVERLAP)
        x, w, b, y = layer.args
        return dataclasses.replace(layer, kernel=v.kernel, variant=v.name, args=(x, w, b, y, ScratchArg()),
                                   scratch_bytes=v.scratch_bytes(layer.params),
                                   overlaps=(src, pointwise_overlap(layer.params)))
    if layer.op == "DEPTHWISE_CONV_2D":
        v = select(layer.op, layer.params, Memory.IN_PLACE)
        scratch = v.scratch_bytes(layer.params)
        if scratch >= graph.tensors[layer.outputs[0]].nbytes:
            return None  # the scratch would cost as much as the output buffer it saves
        x, w, b, _ = layer.args
        return dataclasses.replace(layer, kernel=v.kernel, variant=v.name,
                                   args=(TensorArg(src, "int8_t", False), w, b, ScratchArg()),
                                   scratch_bytes=scratch, inplace_of=src)
    if layer.op in ("PAD", "PADV2"):
        v = select(layer.op, layer.params, Memory.IN_PLACE)
        x = layer.args[0]
        if not isinstance(x, TensorArg) or x.tensor != src:
            return None
        return dataclasses.replace(layer, kernel=v.kernel, variant=v.name, args=(TensorArg(src, x.ctype, False),),
                                   inplace_of=src)
    return dataclasses.replace(layer, inplace_of=src)
