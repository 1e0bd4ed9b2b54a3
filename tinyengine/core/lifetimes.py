"""What the planner is asked to place: the buffer requests of a scheduled network.

Every activation tensor gets a buffer live from the step that first touches it to the
step that last does (graph inputs from step -1, graph outputs until step len(layers)).
Views (RESHAPE / SQUEEZE / EXPAND_DIMS, Layer.alias_of) and layers that run in place
(Layer.inplace_of, tinyengine.core.inplace) share their input's buffer: the tensors
sharing one buffer are one root whose lifetime covers all of them. A layer that may
overlap its dying input (Layer.overlaps) becomes a `shared` pair. Every kernel scratch
buffer lives for its layer's step.

A patched stage (tinyengine.core.patch) changes the requests: its internal tensors get
patch-sized buffers, its full inputs stay live until the stage ends, its full output
is live from the stage's start (patches fill it), gather/scatter buffers are added
where patches are not whole rows, and the output may share the input's buffer
(PatchStage.output_over_input)."""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph
from .layers import Layer
from .patch import PatchStage
from .planner import Buffer


@dataclass(frozen=True)
class Requests:
    buffers: list[Buffer]                 # in the order tensors, gather/scatter, scratch
    shared: dict[tuple[str, str], int]    # allowed overlaps, see tinyengine.core.planner
    alias: dict[int, int]                 # tensor -> root tensor whose buffer it uses


def tensor_key(t: int) -> str:
    return f"t{t}"


def buffer_roots(graph: Graph, layers: list[Layer]) -> dict[int, int]:
    """tensor -> the root tensor whose buffer it shares (views and in-place outputs);
    a tensor absent from the map is its own root. Constants are never roots of an activation."""
    alias: dict[int, int] = {}
    for layer in layers:
        src = layer.alias_of if layer.alias_of is not None else layer.inplace_of
        if src is not None:
            root = alias.get(src, src)
            if graph.tensors[root].is_constant:
                root = src
            alias[layer.outputs[0]] = root
    return alias


def tensor_lifetimes(graph: Graph, layers: list[Layer], alias: dict[int, int]) -> dict[int, tuple[int, int]]:
    """root tensor -> (first, last) step it is live, for every non-constant root tensor touched."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, step: int) -> None:
        root = alias.get(t, t)
        if graph.tensors[root].is_constant:
            return
        first[root] = min(first.get(root, step), step)
        last[root] = max(last.get(root, step), step)

    for t in graph.inputs:
        touch(t, -1)
    for layer in layers:
        for t in layer.outputs:
            touch(t, layer.index)
        for t in layer.inputs:
            touch(t, layer.index)
    for t in graph.outputs:
        touch(t, len(layers))
    return {t: (first[t], last[t]) for t in first}


def root_sizes(graph: Graph, roots: dict[int, tuple[int, int]], alias: dict[int, int]) -> dict[int, int]:
    """root tensor -> bytes of its buffer: the largest tensor sharing it."""
    size = {t: graph.tensors[t].nbytes for t in roots}
    for t, r in alias.items():
        if r in size:
            size[r] = max(size[r], graph.tensors[t].nbytes)
    return size


def buffer_requests(graph: Graph, layers: list[Layer], stage: PatchStage | None = None) -> Requests:
    """The buffers (tensors, patch buffers, scratch) and allowed overlaps of `layers`,
    run with the patched `stage` if one is given."""
    alias = buffer_roots(graph, layers)
    lifetimes = tensor_lifetimes(graph, layers, alias)
    first = {t: f for t, (f, _) in lifetimes.items()}
    last = {t: la for t, (_, la) in lifetimes.items()}
    size = root_sizes(graph, lifetimes, alias)
    if stage is not None:
        _patch_lifetimes(graph, stage, alias, first, last, size)
    buffers = [Buffer(tensor_key(t), t, graph.tensors[t].name, size[t], first[t], last[t]) for t in sorted(first)]
    if stage is not None:
        buffers += patch_copy_buffers(graph, layers, stage)
    buffers += [Buffer(f"scratch{layer.index}", None, f"scratch of {layer.op} #{layer.index}",
                       layer.scratch_bytes, layer.index, layer.index)
                for layer in layers if layer.scratch_bytes > 0]
    shared: dict[tuple[str, str], int] = {}
    for layer in layers:
        if layer.overlaps is not None:
            src, delta = layer.overlaps
            out = layer.outputs[0]
            shared[(tensor_key(alias.get(out, out)), tensor_key(alias.get(src, src)))] = delta
    if stage is not None and stage.output_over_input is not None:
        t_in = alias.get(stage.inputs[0], stage.inputs[0])
        shared[(tensor_key(alias.get(stage.output, stage.output)), tensor_key(t_in))] = stage.output_over_input
    return Requests(buffers, shared, alias)


def _patch_lifetimes(graph: Graph, stage: PatchStage, alias: dict[int, int], first: dict[int, int],
                     last: dict[int, int], size: dict[int, int]) -> None:
    """Internal tensors hold one patch; full inputs live until the stage ends; the full output
    from the stage's start (in place, on the tensor maps)."""
    start, end = stage.layers[0], stage.split
    for t in stage.internal:
        size[t] = stage.buffer_bytes(graph, t)
    for t in stage.inputs:
        r = alias.get(t, t)
        if r in last:
            last[r] = max(last[r], end)
    out = alias.get(stage.output, stage.output)
    first[out] = min(first[out], start)


def patch_copy_buffers(graph: Graph, layers: list[Layer], stage: PatchStage) -> list[Buffer]:
    """Gather buffers for stage inputs and a scatter buffer for the output whose patches are not whole rows."""
    buffers = []
    for t in stage.inputs:
        if stage.needs_copy(graph, t):
            users = [i for i in stage.layers if t in layers[i].inputs]
            buffers.append(Buffer(f"gather{t}", None, f"patch copy of '{graph.tensors[t].name}'",
                                  stage.buffer_bytes(graph, t), users[0], users[-1]))
    if stage.needs_copy(graph, stage.output):
        buffers.append(Buffer(f"scatter{stage.output}", None, f"patch of '{graph.tensors[stage.output].name}'",
                              stage.buffer_bytes(graph, stage.output), stage.split, stage.split))
    return buffers
