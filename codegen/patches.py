"""Emit a patched stage (tinyengine.core.patch) as straight-line C: for every patch, a
commented block of kernel calls on patch buffers, gather/stitch copies where a
patch is not whole rows, one deduplicated parameter struct per distinct geometry."""

from __future__ import annotations

from typing import Any

from tinyengine.core.ir import Graph
from tinyengine.core.layers import ConstArray, Layer, NullArg, ScratchArg, TensorArg
from tinyengine.core.params import CopyRectParams
from tinyengine.core.patch import PatchStage, Region, patch_params
from tinyengine.core.planner import Plan

from .args import fixed_arg
from .names import shape_text, short_name


def _elem(graph: Graph, t: int) -> int:
    tensor = graph.tensors[t]
    return tensor.nbytes // max(tensor.num_elements, 1)


def stage_calls(graph: Graph, layers: list[Layer], plan: Plan, stage: PatchStage,
                c_struct) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(calls for model.c, parameter structs for model_data.h)."""
    params: dict[str, dict[str, Any]] = {}   # rendered value -> struct entry
    counters: dict[str, int] = {}

    def struct(value: Any, prefix: str, comment: str) -> str:
        type_ = type(value).C_TYPE
        text = c_struct(value)
        key = type_ + text
        if key not in params:
            counters[prefix] = counters.get(prefix, -1) + 1
            params[key] = {"type": type_, "name": f"{prefix}{counters[prefix]}", "value": text, "comment": comment}
        return params[key]["name"]

    def full_offset(t: int, r: Region) -> int:
        tensor = graph.tensors[t]
        return plan.tensor_offset(t) + (r.y0 * tensor.shape[2] + r.x0) * tensor.shape[3] * _elem(graph, t)

    def patch_buffer(key: str, t: int, skip: int = 0) -> str:
        return f"ARENA({plan.buffer_offset(key) + skip}) /* patch buffer of {short_name(graph, t)} */"

    def full_ptr(t: int, r: Region) -> str:
        return f"ARENA({full_offset(t, r)}) /* {short_name(graph, t)} */"

    def copy(t: int, r: Region, gather: bool, key: str) -> str:
        tensor = graph.tensors[t]
        e = _elem(graph, t)
        row = r.w * tensor.shape[3] * e
        full_stride = tensor.shape[2] * tensor.shape[3] * e
        value = CopyRectParams(rows=r.h, row_bytes=row, src_stride=full_stride if gather else row,
                               dst_stride=row if gather else full_stride)
        name = struct(value, "patch_copy", f"patch copy {r.h} rows x {row} B")
        buf = patch_buffer(key, t)
        src, dst = (full_ptr(t, r), buf) if gather else (buf, full_ptr(t, r))
        verb = "gather" if gather else "stitch"
        return f"tinyml_copy_rect(&{name}, {src}, {dst}); /* {verb} rows {r.y0}-{r.y1 - 1}, cols {r.x0}-{r.x1 - 1} */"

    calls: list[dict[str, Any]] = []
    out_t = stage.output
    n = len(stage.regions)
    spec = stage.spec
    calls.append({"comment": f"Patched stage: layers {stage.layers[0]}-{stage.split} run on a {spec.rows}x{spec.cols} "
                             f"grid of patches of {short_name(graph, out_t)} ({shape_text(graph, out_t)}); "
                             f"halos are recomputed ({100 * stage.overhead:.1f}% more MACs)",
                  "pre": None, "stmt": None, "index": stage.layers[0], "out_ptr": "ARENA(0)", "out_bytes": 0,
                  "hook": False, "canary": False})
    for i in stage.layers[:-1]:   # stage-internal tensors never exist whole: their hooks carry no data
        calls.append({"comment": None, "pre": None, "stmt": None, "index": i, "out_ptr": "ARENA(0)", "out_bytes": 0,
                      "hook": True, "canary": False})
    for p, need in enumerate(stage.regions):
        r_out = need[out_t]
        stmts = []
        gathered: set[int] = set()
        for i in stage.layers:
            layer = layers[i]
            in_regions = [need[t] for t in layer.inputs]
            values, offsets = patch_params(graph, layer, in_regions, need[layer.outputs[0]])
            name = struct(values, f"L{i}_patch_params",
                          f"L{i} {layer.op} on a patch: in {'+'.join(f'{r.h}x{r.w}' for r in in_regions)}, "
                          f"out {need[layer.outputs[0]].h}x{need[layer.outputs[0]].w}")
            args = [f"&{name}"]
            k = 0
            for a in layer.args:
                if isinstance(a, TensorArg) and not a.const:
                    t = a.tensor
                    if t == out_t:
                        ptr = patch_buffer(f"scatter{t}", t) if stage.needs_copy(graph, t) else full_ptr(t, r_out)
                    else:
                        ptr = f"ARENA({plan.tensor_offset(t)}) /* {short_name(graph, t)}, patch */"
                    args.append(f"({a.ctype} *){ptr}")
                elif isinstance(a, TensorArg):
                    t = a.tensor
                    skip = offsets[k] * _elem(graph, t)
                    if t in stage.internal:
                        base = f"ARENA({plan.tensor_offset(t) + skip}) /* {short_name(graph, t)}, patch */"
                    elif stage.needs_copy(graph, t):
                        if t not in gathered:
                            stmts.append(copy(t, need[t], True, f"gather{t}"))
                            gathered.add(t)
                        base = patch_buffer(f"gather{t}", t, skip)
                    else:
                        base = f"ARENA({full_offset(t, need[t]) + skip}) /* {short_name(graph, t)} */"
                    args.append(f"(const {a.ctype} *){base}")
                    k += 1
                elif isinstance(a, (ConstArray, NullArg, ScratchArg)):
                    args.append(fixed_arg(a, i, plan))
                else:
                    raise TypeError(f"cannot patch argument {a!r} of layer {i}")
            stmts.append(f"/* L{i} {layer.op}, kernel {layer.kernel} ({layer.variant}) */")
            stmts.append(f"{layer.kernel}({', '.join(args)});")
        if stage.needs_copy(graph, out_t):
            stmts.append(copy(out_t, r_out, False, f"scatter{out_t}"))
        calls.append({"comment": f"patch {p + 1}/{n}: rows {r_out.y0}-{r_out.y1 - 1}, cols {r_out.x0}-{r_out.x1 - 1} "
                                 f"of L{stage.split}'s output",
                      "pre": None, "stmt": "\n    ".join(stmts), "index": stage.split, "out_ptr": "ARENA(0)",
                      "out_bytes": 0, "hook": False, "canary": False})
    calls.append({"comment": f"L{stage.split} {layers[stage.split].op}: {short_name(graph, out_t)} is the stitched "
                             f"output of the patched stage, {shape_text(graph, out_t)}",
                  "pre": None, "stmt": None, "index": stage.split,
                  "out_ptr": f"ARENA({plan.tensor_offset(out_t)})", "out_bytes": graph.tensors[out_t].nbytes,
                  "hook": True, "canary": True})
    return calls, list(params.values())

