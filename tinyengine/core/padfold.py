"""PAD folding: a PAD whose padded tensor only feeds a convolution becomes that convolution's
padding, so the padded copy never exists.

Models exported from PyTorch (through ONNX or ai-edge-torch) carry an explicit PAD before
every padded convolution, often asymmetric (0 top / left, 1 bottom / right before a stride-2
conv), and run the convolution with VALID padding. The kernels already take any padding:
`pad` (a Tile) is the top and left padding, and every tap past the input's bottom or right
edge is padding too, however many there are. So

    y = CONV_2D(PAD(x, top, bottom, left, right; value), VALID or SAME)

is exactly the convolution over x with its padding grown by (top, left), when the pad value
is the convolution's input zero point (a padded tap then adds 0, as the kernels' padding
does). The bottom / right padding needs no field: the output size, unchanged, implies it.

A PAD folds when its element is int8, it pads only height and width, its output is read by
one CONV_2D or DEPTHWISE_CONV_2D (as that layer's input, and by nothing else: not a graph
output), and its value is that layer's input zero point. Any other PAD (another value,
another consumer, a pooling op after it, whose padding semantics differ) stays a layer.

A pure pass from lowered layers to lowered layers, run before scheduling; the surviving
layers are renumbered so that a layer's index is its step."""

from __future__ import annotations

import dataclasses

from .ir import Graph
from .layers import MAX_DIMS, Layer, TensorArg
from .params import Conv2DParams, DepthwiseConv2DParams, Dims, PadParams, Tile

FOLDS_INTO = ("CONV_2D", "DEPTHWISE_CONV_2D")
_H, _W = MAX_DIMS - 3, MAX_DIMS - 2   # NHWC, right-aligned to MAX_DIMS


def foldable_padding(p: PadParams) -> tuple[int, int] | None:
    """(top, left) of an int8 PAD that pads only height and width of a 4-d NHWC tensor, else None."""
    if p.element_size != 1:
        return None
    after = [o - i - b for o, i, b in zip(p.out_shape, p.in_shape, p.pad_before)]
    if any(p.pad_before[d] or after[d] for d in range(MAX_DIMS) if d not in (_H, _W)):
        return None
    return p.pad_before[_H], p.pad_before[_W]


def _fold(pad: Layer, conv: Layer) -> Layer | None:
    """`conv` reading `pad`'s input with the PAD's padding added to its own, or None."""
    p, cp = pad.params, conv.params
    if not isinstance(p, PadParams) or not isinstance(cp, (Conv2DParams, DepthwiseConv2DParams)):
        return None
    before = foldable_padding(p)
    if before is None or p.pad_value != -cp.input_offset or len(pad.inputs) != 1:
        return None
    if conv.inputs != (pad.outputs[0],) or not conv.args or conv.args[0] != TensorArg(pad.outputs[0], "int8_t", True):
        return None
    src = pad.args[0]
    if not isinstance(src, TensorArg) or src.tensor != pad.inputs[0]:
        return None
    n, h, w, c = p.in_shape[_H - 1], p.in_shape[_H], p.in_shape[_W], p.in_shape[_W + 1]
    params = dataclasses.replace(cp, input=Dims(n, h, w, c), pad=Tile(cp.pad.h + before[0], cp.pad.w + before[1]))
    return dataclasses.replace(conv, params=params, args=(src, *conv.args[1:]), inputs=(src.tensor,),
                               folded=(*conv.folded, f"PAD {pad.name!r} (top {before[0]}, left {before[1]})"))


def fold_pads(graph: Graph, layers: list[Layer]) -> list[Layer]:
    """The layers with every foldable PAD folded into the convolution after it."""
    readers: dict[int, list[int]] = {}
    for pos, layer in enumerate(layers):
        for t in set(layer.inputs):
            readers.setdefault(t, []).append(pos)
    replaced: dict[int, Layer] = {}
    dropped: set[int] = set()
    for pos, layer in enumerate(layers):
        if layer.op not in ("PAD", "PADV2") or len(layer.outputs) != 1:
            continue
        t = layer.outputs[0]
        users = readers.get(t, [])
        if t in graph.outputs or len(users) != 1 or layers[users[0]].op not in FOLDS_INTO:
            continue
        new = _fold(layer, replaced.get(users[0], layers[users[0]]))
        if new is not None:
            replaced[users[0]] = new
            dropped.add(pos)
    if not dropped:
        return layers
    kept = [replaced.get(pos, layer) for pos, layer in enumerate(layers) if pos not in dropped]
    return [dataclasses.replace(layer, index=i) for i, layer in enumerate(kept)]
