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
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import TinyMLError
from .fold import ConstantChannels, fold_constant_channels, folded_bias, rq_table
from .ir import Graph
from .layers import ConstArray, Layer, NullArg, ScratchArg
from .params import PerChannelQuant, Rounding
from .patch import PatchStage, patch_params
from .variants import KERNEL_SETS, VARIANTS, Memory, select

# axis of the output channel in each op's weights
_CHANNEL_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}


def _memory(layer: Layer) -> Memory:
    if layer.inplace_of is not None:
        return Memory.IN_PLACE
    if layer.overlaps is not None:
        return Memory.OVERLAP
    return Memory.OUT_OF_PLACE


@dataclass(frozen=True)
class Folding:
    """What a fast variant that takes a folded bias gets for one layer: the weights (with its
    constant channels rewritten, tinyengine.core.fold), the folded bias and the parameters
    (their requantization tables rewritten alike)."""

    weights: ConstArray
    bias: ConstArray
    params: Any


def fold_layers(layers: list[Layer]) -> dict[int, Folding | None]:
    """The folding of every layer with constant weights that a fast variant could take, by
    layer index; None where the folded bias does not fit int32 (the reference kernel
    accumulates the offset term itself). Computed once per network: it depends only on the
    layer's constants, not on the schedule."""
    folds: dict[int, Folding | None] = {}
    for layer in layers:
        if layer.op not in _CHANNEL_AXIS or len(layer.args) < 3:
            continue
        w, b = layer.args[1], layer.args[2]
        if not isinstance(w, ConstArray) or not isinstance(b, ConstArray | NullArg):
            continue
        bias = b.data if isinstance(b, ConstArray) else None
        try:
            folded = folded_bias(bias, w.data, layer.params.input_offset, _CHANNEL_AXIS[layer.op])
        except OverflowError:
            folds[layer.index] = None
            continue
        params = layer.params
        rewritten = _constant_channels(layer, w, folded)
        if rewritten is not None:
            w = dataclasses.replace(w, data=rewritten.weights)
            folded = rewritten.folded_bias
            q = params.quant
            params = dataclasses.replace(params, quant=dataclasses.replace(
                q, multiplier=dataclasses.replace(q.multiplier, data=rewritten.multiplier),
                shift=dataclasses.replace(q.shift, data=rewritten.shift)))
        folds[layer.index] = Folding(w, ConstArray(f"L{layer.index}_folded_bias", "int32_t",
                                                   np.ascontiguousarray(folded)), params)
    return folds


def _with_fast(layer: Layer, patch_params: list[Any], folds: dict[int, Folding | None], lean: bool = False,
               wide_weights: bool = False) -> Layer:
    """`patch_params`: the layer's parameters for every patch when it runs in a patched stage
    (the variant must apply to each, and its scratch must hold the largest). `lean`: pass over
    the variants that trade more scratch for speed. `wide_weights`: the `speed` kernel set."""
    v = select(layer.op, layer.params, _memory(layer), fast=True, more_scratch=not lean, wide_weights=wide_weights)
    if v is None or not all(v.applies(p) for p in patch_params):
        return layer
    args = [a for a in layer.args if not isinstance(a, ScratchArg)]
    if v.folded_bias:   # args: (input, weights, bias, output), or (buffer, weights, bias) in place
        folding = folds.get(layer.index)
        if folding is None:
            return layer
        args[1], args[2] = folding.weights, folding.bias
        if v.weights is not None:
            args[1] = ConstArray(f"{folding.weights.name}_w16", "int16_t", v.weights(folding.weights.data))
        layer = dataclasses.replace(layer, params=folding.params)
        if v.rq_table:   # (input, weights, bias, rq, output)
            q = layer.params.quant
            args.insert(3, ConstArray(f"L{layer.index}_rq", "int32_t",
                                      rq_table(q.multiplier.data, q.shift.data, layer.params.output_offset)))
    scratch = max(v.scratch_bytes(p) for p in [layer.params, *patch_params])
    return dataclasses.replace(layer, kernel=v.kernel, variant=v.name,
                               args=tuple(args) + ((ScratchArg(),) if scratch else ()), scratch_bytes=scratch)


def _constant_channels(layer: Layer, w: ConstArray, folded: np.ndarray) -> ConstantChannels | None:
    """The layer's constant channels folded (tinyengine.core.fold) when its quantization is
    per channel: then every pair is in the fast requantization's range."""
    q = getattr(layer.params, "quant", None)
    if not isinstance(q, PerChannelQuant) or getattr(layer.params, "per_channel", 1) == 0:
        return None
    return fold_constant_channels(w.data, folded, q.multiplier.data, q.shift.data, _CHANNEL_AXIS[layer.op],
                                  layer.params.rounding is Rounding.SINGLE)


def _stage_params(graph: Graph, layers: list[Layer], stage: PatchStage | None) -> dict[int, list[Any]]:
    if stage is None:
        return {}
    return {i: [patch_params(graph, layers[i], [need[t] for t in layers[i].inputs], need[layers[i].outputs[0]])[0]
                for need in stage.regions] for i in stage.layers}


def select_kernels(graph: Graph, layers: list[Layer], kernels: str = "fast",
                   stage: PatchStage | None = None, lean: frozenset[int] = frozenset(),
                   folds: dict[int, Folding | None] | None = None) -> list[Layer]:
    """`stage`: the patched stage, whose layers run once per patch with patch-shaped parameters.
    `lean`: the layers (by index) that may not take a variant marked more_scratch. `folds`:
    fold_layers(layers), when the caller selects many times over the same layers."""
    if kernels not in KERNEL_SETS:
        raise TinyMLError(f"unknown kernel set '{kernels}' (choose from {', '.join(KERNEL_SETS)})")
    if kernels == "reference":
        return layers
    per_patch = _stage_params(graph, layers, stage)
    folds = fold_layers(layers) if folds is None else folds
    chosen = [_with_fast(layer, per_patch.get(layer.index, []), folds, layer.index in lean, kernels == "speed")
              if layer.kernel is not None else layer for layer in layers]
    return _where_code_pays(layers, chosen)


def _where_code_pays(layers: list[Layer], chosen: list[Layer]) -> list[Layer]:
    """Back to the reference kernel for every layer of a variant with min_network_macs whose
    layers in this network have fewer MACs together (its code would cost more than it saves)."""
    variants = {v.kernel: v for vs in VARIANTS.values() for v in vs if v.min_network_macs}
    macs: dict[str, int] = {}
    for layer in chosen:
        if layer.kernel in variants:
            macs[layer.kernel] = macs.get(layer.kernel, 0) + layer.macs
    unpaid = {k for k, n in macs.items() if n < variants[k].min_network_macs}
    return [old if new.kernel in unpaid else new for old, new in zip(layers, chosen)]
