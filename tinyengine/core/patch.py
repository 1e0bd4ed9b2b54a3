"""Patch-based inference (MCUNetV2): run the memory-heavy first stage of a network
patch by patch, then the rest layer by layer.

The stage is layers [0, split]. Its output (the split layer's output) is cut
into a rows x cols grid. For each patch, the region every stage tensor must
hold is found backwards through the receptive fields (kernel, stride, dilation,
padding), clipped to the image, so overlapping halos are recomputed and
padding only happens at the image's real edges. Each stage layer then runs on
its patch: the same kernel, with the patch's dims and a shifted padding, so the
result is bit-identical to the unpatched layer. Patch outputs are written into
the full stage output (stitched); stage inputs are read from the full tensor.

Everything here is geometry and bookkeeping; core/lifetimes.py turns the
stage into patch-sized buffer requests for the planner, and codegen emits the calls."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from .errors import TinyMLError
from .inplace import ELEMENTWISE
from .ir import Graph
from .layers import Layer, contiguous_strides, right_align
from .params import Broadcast, Conv2DParams, DepthwiseConv2DParams, Dims, Tile

SPATIAL = {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D"}
PADS = {"PAD", "PADV2"}      # a PAD the padfold pass left (before a pool, or of another value), H and W only
PATCHABLE = SPATIAL | ELEMENTWISE | PADS
_H, _W = -3, -2              # H and W in the kernels' right-aligned NHWC shapes


@dataclass(frozen=True)
class Region:
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    def union(self, other: Region | None) -> Region:
        if other is None:
            return self
        return Region(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))


@dataclass(frozen=True)
class PatchSpec:
    split: int   # index of the last layer of the patched stage
    rows: int
    cols: int

    def __str__(self) -> str:
        return f"{self.rows}x{self.cols}@{self.split}"


@dataclass(frozen=True)
class PatchStage:
    spec: PatchSpec
    layers: tuple[int, ...]               # stage layer indices, in order
    inputs: tuple[int, ...]               # full tensors read by the stage (from outside it)
    output: int                           # the full tensor the stage writes (the split layer's output)
    regions: tuple[dict[int, Region], ...]  # per patch: tensor -> region it holds
    macs: int                             # MACs of the stage when patched
    base_macs: int                        # MACs of the stage unpatched
    total_macs: int                       # MACs of the whole network unpatched
    internal: frozenset[int]              # tensors that exist only patch by patch (not the output)
    output_over_input: int | None = None  # the output shares the stage input's buffer, starting this many
                                          # bytes after the input (negative: before it); None: separate buffers

    @property
    def overhead(self) -> float:
        """Extra MACs from recomputed halos, as a fraction of the whole network's MACs."""
        return (self.macs - self.base_macs) / max(self.total_macs, 1)

    @property
    def split(self) -> int:
        return self.spec.split

    def full_width(self, graph: Graph, t: int, region: Region) -> bool:
        return region.x0 == 0 and region.x1 == graph.tensors[t].shape[2]

    def buffer_bytes(self, graph: Graph, t: int) -> int:
        """Bytes of the patch buffer for tensor t: its largest region over the patches."""
        return max(region_bytes(graph, t, r[t]) for r in self.regions if t in r)

    def needs_copy(self, graph: Graph, t: int) -> bool:
        """A full tensor (stage input or output) whose patch regions are not whole rows: patches
        go through a gather/scatter buffer instead of pointing into the full tensor."""
        return any(not self.full_width(graph, t, r[t]) for r in self.regions if t in r)


def region_bytes(graph: Graph, t: int, region: Region) -> int:
    tensor = graph.tensors[t]
    return region.h * region.w * tensor.shape[3] * (tensor.nbytes // max(tensor.num_elements, 1))


PATCH_SPEC = re.compile(r"^(\d+)x(\d+)@(\d+)$")


def parse_patch(text: str) -> str | PatchSpec:
    if text in ("auto", "off"):
        return text
    m = PATCH_SPEC.match(text)
    if not m:
        raise TinyMLError(f"--patch must be 'auto', 'off' or <rows>x<cols>@<layer>, got '{text}'")
    return PatchSpec(int(m.group(3)), int(m.group(1)), int(m.group(2)))


def _is_4d_batch1(graph: Graph, t: int) -> bool:
    shape = graph.tensors[t].shape
    return len(shape) == 4 and shape[0] == 1


def stage_problem(graph: Graph, layers: list[Layer], split: int) -> str | None:
    """Why layers [0, split] cannot be a patched stage, or None if they can."""
    if not 0 <= split < len(layers):
        return f"layer {split} does not exist (the model has {len(layers)} layers)"
    produced: set[int] = set()
    for layer in layers[:split + 1]:
        if layer.op not in PATCHABLE or layer.kernel is None:
            return f"layer {layer.index} {layer.op} cannot run patch by patch"
        if layer.has_constant_operand:
            return f"layer {layer.index} {layer.op} has a constant operand"
        for t in (*layer.inputs, *layer.outputs):
            if not _is_4d_batch1(graph, t):
                return f"layer {layer.index} {layer.op}: tensor '{graph.tensors[t].name}' is not 4-d NHWC, batch 1"
        if layer.op in ELEMENTWISE and any(graph.tensors[t].shape != graph.tensors[layer.outputs[0]].shape
                                           for t in layer.inputs):
            return f"layer {layer.index} {layer.op} broadcasts"
        if layer.op in PADS:
            before = layer.params.pad_before
            if any(b for d, b in enumerate(before) if d - len(before) not in (_H, _W)):
                return f"layer {layer.index} {layer.op} pads other dimensions than H and W"
        produced.update(layer.outputs)
    output = layers[split].outputs[0]
    for layer in layers[split + 1:]:
        leaked = (set(layer.inputs) & produced) - {output}
        if leaked:
            return f"tensor '{graph.tensors[leaked.pop()].name}' of the stage is also used after layer {split}"
    if (set(graph.outputs) & produced) - {output}:
        return "a graph output is produced inside the stage"
    used = {t for layer in layers[:split + 1] for t in layer.inputs} | {output}
    for layer in layers[:split + 1]:
        if not set(layer.outputs) & used:
            return f"layer {layer.index} {layer.op}'s output is used by no later layer in the stage"
    if graph.tensors[output].shape[1] < 2:
        return "the stage output is too small to split"
    return None


def _bands(n: int, parts: int) -> list[tuple[int, int]]:
    edges = [round(k * n / parts) for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts) if edges[k + 1] > edges[k]]


def _input_region(graph: Graph, layer: Layer, out: Region, t_in: int) -> Region:
    if layer.op in ELEMENTWISE:
        return out
    h, w = graph.tensors[t_in].shape[1], graph.tensors[t_in].shape[2]
    if layer.op in PADS:
        top, left = layer.params.pad_before[_H], layer.params.pad_before[_W]
        return Region(min(max(out.y0 - top, 0), h), min(max(out.y1 - top, 0), h),
                      min(max(out.x0 - left, 0), w), min(max(out.x1 - left, 0), w))
    p = layer.params
    kh, kw = p.filter.h, p.filter.w
    dh, dw = (p.dilation.h, p.dilation.w) if isinstance(p, Conv2DParams | DepthwiseConv2DParams) else (1, 1)
    sh, sw, ph, pw = p.stride.h, p.stride.w, p.pad.h, p.pad.w
    return Region(max(0, out.y0 * sh - ph), min(h, (out.y1 - 1) * sh - ph + (kh - 1) * dh + 1),
                  max(0, out.x0 * sw - pw), min(w, (out.x1 - 1) * sw - pw + (kw - 1) * dw + 1))


def _region_macs(graph: Graph, layer: Layer, out: Region) -> int:
    full = graph.tensors[layer.outputs[0]].shape
    return layer.macs * out.h * out.w // (full[1] * full[2])


def build_stage(graph: Graph, layers: list[Layer], spec: PatchSpec) -> PatchStage:
    problem = stage_problem(graph, layers, spec.split)
    if problem:
        raise TinyMLError(f"cannot patch at layer {spec.split}: {problem}")
    stage = layers[:spec.split + 1]
    output = stage[-1].outputs[0]
    oh, ow = graph.tensors[output].shape[1], graph.tensors[output].shape[2]
    if spec.rows < 1 or spec.cols < 1 or spec.rows > oh or spec.cols > ow:
        raise TinyMLError(f"patch grid {spec.rows}x{spec.cols} does not fit the stage output's {oh}x{ow} "
                          f"(layer {spec.split})")
    produced = {t for layer in stage for t in layer.outputs}
    inputs = tuple(dict.fromkeys(t for layer in stage for t in layer.inputs if t not in produced))
    regions, macs = [], 0
    for y0, y1 in _bands(oh, spec.rows):
        for x0, x1 in _bands(ow, spec.cols):
            need: dict[int, Region] = {output: Region(y0, y1, x0, x1)}
            for layer in reversed(stage):
                out_region = need[layer.outputs[0]]
                macs += _region_macs(graph, layer, out_region)
                for t in layer.inputs:
                    need[t] = _input_region(graph, layer, out_region, t).union(need.get(t))
            regions.append(need)
    for need in regions:
        for layer in stage:
            if layer.op in PADS and (need[layer.inputs[0]].h < 1 or need[layer.inputs[0]].w < 1):
                raise TinyMLError(f"cannot patch at layer {spec.split}: a patch of layer {layer.index} {layer.op} "
                                  "lies wholly in its padding")
        for layer in stage:
            if layer.op in ELEMENTWISE and layer.op not in ("ADD", "MUL"):
                if need[layer.inputs[0]] != need[layer.outputs[0]]:
                    raise TinyMLError(f"cannot patch at layer {spec.split}: layer {layer.index} {layer.op} would "
                                      "need a larger input region than its output (its input feeds a wider layer)")
    base = sum(layer.macs for layer in stage)
    total = sum(layer.macs for layer in layers)
    internal = frozenset(produced - {output})
    delta = _overwrite_offset(graph, layers, stage, inputs, output, regions)
    return PatchStage(spec, tuple(layer.index for layer in stage), inputs, output, tuple(regions), macs, base,
                      total, internal, delta)


def _overwrite_offset(graph: Graph, layers: list[Layer], stage: list[Layer], inputs: tuple[int, ...], output: int,
                      regions: list[dict[int, Region]]) -> int | None:
    """Where the stage output can start relative to the stage input so that no patch overwrites input
    bytes a later patch still reads: patches run in order, a patch reads its input before its output
    is stitched, so after patch p the output written so far must end before the first input byte any
    later patch reads. The largest such offset, capped at 0 (the output then starts at or before
    the input). None when the input is needed after the stage, is not unique, or is a view."""
    if len(inputs) != 1:
        return None
    t_in = inputs[0]
    if t_in in graph.outputs or any(t_in in layer.inputs for layer in layers[stage[-1].index + 1:]):
        return None
    if t_in in stage[-1].inputs:
        return None   # the last layer would read and write the same bytes in one call
    src, dst = graph.tensors[t_in], graph.tensors[output]
    es, ed = src.nbytes // src.num_elements, dst.nbytes // dst.num_elements

    def first_byte(t: int, r: Region, e: int) -> int:
        return (r.y0 * graph.tensors[t].shape[2] + r.x0) * graph.tensors[t].shape[3] * e

    def end_byte(t: int, r: Region, e: int) -> int:
        return ((r.y1 - 1) * graph.tensors[t].shape[2] + r.x1) * graph.tensors[t].shape[3] * e

    if any(layer.alias_of is not None and layer.outputs[0] == t_in for layer in layers):
        return None
    delta, written = 0, 0
    for p in range(len(regions) - 1):
        written = max(written, end_byte(output, regions[p][output], ed))
        still_needed = min(first_byte(t_in, regions[q][t_in], es) for q in range(p + 1, len(regions)))
        delta = min(delta, still_needed - written)
    return delta


def _dims(region: Region, c: int) -> Dims:
    return Dims(1, region.h, region.w, c)


def patch_params(graph: Graph, layer: Layer, in_regions: list[Region],
                 out_region: Region) -> tuple[Any, list[int]]:
    """The layer's parameters for one patch, and a byte offset into each input's buffer.

    Spatial ops get the patch buffers' dims and the padding shifted so that the buffers'
    (y0, x0) map to the right image coordinates. ADD / MUL read the output's region out of
    possibly larger input buffers through strides and an offset."""
    p = layer.params
    offsets = [0] * len(in_regions)
    out_c = graph.tensors[layer.outputs[0]].shape[3]
    if layer.op in SPATIAL:
        r_in = in_regions[0]
        in_c = graph.tensors[layer.inputs[0]].shape[3]
        pad = Tile(p.pad.h + r_in.y0 - out_region.y0 * p.stride.h, p.pad.w + r_in.x0 - out_region.x0 * p.stride.w)
        return dataclasses.replace(p, input=_dims(r_in, in_c), output=_dims(out_region, out_c), pad=pad), offsets
    if layer.op in ("ADD", "MUL"):
        strides = []
        for k, r in enumerate(in_regions):
            strides.append(contiguous_strides(right_align((1, r.h, r.w, out_c))))
            offsets[k] = ((out_region.y0 - r.y0) * r.w + (out_region.x0 - r.x0)) * out_c
        geometry = Broadcast(right_align((1, out_region.h, out_region.w, out_c)), *strides)
        return dataclasses.replace(p, geometry=geometry), offsets
    if layer.op in PADS:
        r_in = in_regions[0]
        before = list(p.pad_before)
        before[_H] = p.pad_before[_H] + r_in.y0 - out_region.y0
        before[_W] = p.pad_before[_W] + r_in.x0 - out_region.x0
        return dataclasses.replace(p, in_shape=right_align((1, r_in.h, r_in.w, out_c)),
                                   out_shape=right_align((1, out_region.h, out_region.w, out_c)),
                                   pad_before=tuple(before)), offsets
    return dataclasses.replace(p, size=out_region.h * out_region.w * out_c), offsets


def candidate_specs(graph: Graph, layers: list[Layer], max_grid: int = 8) -> list[PatchSpec]:
    """Every split layer that can end a stage, with n x n and n x 1 grids."""
    specs = []
    for split in range(len(layers)):
        if stage_problem(graph, layers, split) is not None:
            if layers[split].op not in PATCHABLE:
                break  # a stage cannot extend past an unpatchable layer
            continue
        oh, ow = graph.tensors[layers[split].outputs[0]].shape[1:3]
        for n in range(2, max_grid + 1):
            if n <= oh:
                specs.append(PatchSpec(split, n, 1))
            if n <= oh and n <= ow:
                specs.append(PatchSpec(split, n, n))
    return specs


