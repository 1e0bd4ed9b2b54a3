"""Render layers + plan into C source text with jinja2 templates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from tinyengine.core.ir import Graph
from tinyengine.core.layers import ConstArray, Layer, NullArg, ScratchArg, StateArg, TensorArg, TensorListArg
from tinyengine.core.patch import PatchStage
from tinyengine.core.planner import Plan
from tinyengine.core.state import state_layout

from .args import fixed_arg
from .build import forbidden_defines
from .names import DEFAULT_C_NAME, c_comment, shape_text, short_name
from .patches import stage_calls

TEMPLATES = Path(__file__).parent / "templates"
MODEL_FILES = ("model.h", "model.c", "model_data.h", "model_debug.h")   # what generate() writes


@dataclass(frozen=True)
class GeneratedModel:
    files: dict[str, str]   # file name -> content

    def write(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            (out_dir / name).write_text(text)


def c_value(v: Any) -> str:
    """A parameter value as a C initializer; nested structs on one line."""
    if isinstance(v, ConstArray):
        return v.name
    if isinstance(v, Enum):
        return v.value
    if dataclasses.is_dataclass(v):
        return "{" + ", ".join(f".{f.name} = {c_value(getattr(v, f.name))}" for f in dataclasses.fields(v)) + "}"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(np.float32(v)).hex()}f" if np.isfinite(v) else "0.0f"
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(c_value(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f".{k} = {c_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot render {v!r} as C")


def c_struct(params: Any) -> str:
    """A parameter struct as a C initializer, one field a line."""
    fields = [f"    .{f.name} = {c_value(getattr(params, f.name))}," for f in dataclasses.fields(params)]
    return "{\n" + "\n".join(fields) + "\n}"


def c_array_body(data: np.ndarray, per_line: int = 16) -> str:
    flat = data.reshape(-1)
    if flat.dtype == np.float32:
        items = [f"{float(x).hex()}f" for x in flat]
    else:
        items = [str(int(x)) for x in flat]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)


def generate(graph: Graph, layers: list[Layer], plan: Plan, contract: str, version: str,
             stage: PatchStage | None = None, c_name: str = DEFAULT_C_NAME) -> GeneratedModel:
    """`c_name`: the prefix of every symbol model.h declares (names.check_c_name)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)

    def tensor_ref(t: int, ctype: str, const: bool) -> str:
        qual = "const " if const else ""
        return f"({qual}{ctype} *)ARENA({plan.tensor_offset(t)}) /* {short_name(graph, t)} */"

    state = state_layout(graph)
    calls = []
    stage_params: list[dict[str, Any]] = []
    in_stage = set(stage.layers) if stage else set()
    for layer in layers:
        if layer.index in in_stage:
            if layer.index == stage.layers[0]:
                stage_list, stage_params = stage_calls(graph, layers, plan, stage, c_struct)
                calls.extend(stage_list)
            continue
        ins = " + ".join(f"{short_name(graph, t)} {shape_text(graph, t)}" for t in layer.inputs) or "constants"
        outs = " + ".join(f"{short_name(graph, t)} {shape_text(graph, t)}" for t in layer.outputs)
        comment = f"L{layer.index} {layer.op}: {ins} -> {outs}"
        out_t = layer.outputs[0]
        out_bytes = graph.tensors[out_t].nbytes
        out_ptr = f"ARENA({plan.tensor_offset(out_t)})"
        if layer.kernel is None:
            calls.append({"comment": comment + " (a view: shares its input's memory, no code)", "stmt": None,
                          "pre": None, "index": layer.index, "out_ptr": out_ptr, "out_bytes": out_bytes, "hook": True,
                          "canary": True})
            continue
        args = [f"&L{layer.index}_params"]
        pre = None
        for a in layer.args:
            if isinstance(a, TensorArg):
                args.append(tensor_ref(a.tensor, a.ctype, a.const))
            elif isinstance(a, (ConstArray, ScratchArg, NullArg)):
                args.append(fixed_arg(a, layer.index, plan))
            elif isinstance(a, StateArg):
                args.append(f"({a.ctype} *)STATE({state.offset(a.tensor)}) /* state {short_name(graph, a.tensor)} */")
            elif isinstance(a, TensorListArg):
                refs = ", ".join(f"ARENA({plan.tensor_offset(t)}) /* {short_name(graph, t)} */" for t in a.tensors)
                what, qual = ("outputs", "") if a.writable else ("inputs", "const ")
                pre = f"{qual}void *const L{layer.index}_{what}[{len(a.tensors)}] = {{{refs}}};"
                args.append(f"L{layer.index}_{what}")
        comment += f"\n     * kernel {layer.kernel} ({layer.variant})"
        for op in layer.folded:
            comment += f"\n     * padding includes the folded {op}"
        if layer.inplace_of is not None:
            comment += f", in place over {short_name(graph, layer.inplace_of)}"
        if layer.overlaps is not None:
            src, delta = layer.overlaps
            comment += (f", output may overlap its dying input {short_name(graph, src)} "
                        f"(start at most {delta} B after it)")
        calls.append({"comment": comment, "pre": pre, "stmt": f"{layer.kernel}({', '.join(args)});",
                      "index": layer.index, "out_ptr": out_ptr, "out_bytes": out_bytes, "hook": True, "canary": True})

    consts: dict[str, ConstArray] = {}
    for layer in layers:
        for c in layer.consts:
            consts[c.name] = c
    params = [{"type": layer.params_type, "name": f"L{layer.index}_params", "value": c_struct(layer.params),
               "comment": f"L{layer.index} {layer.op} -> {short_name(graph, layer.outputs[0])}, "
                          f"kernel {layer.kernel} ({layer.variant})"}
              for layer in layers if layer.kernel is not None and layer.index not in in_stage] + stage_params

    def io(ts: tuple[int, ...]) -> list[dict[str, Any]]:
        return [{"offset": plan.tensor_offset(t), "bytes": graph.tensors[t].nbytes,
                 "name": short_name(graph, t),
                 "shape": shape_text(graph, t), "dtype": graph.tensors[t].dtype, **_quant_text(graph, t)} for t in ts]

    canary = canary_tables(layers, plan, stage)
    ctx = {
        "canary": canary,
        "rounding_guard": " || ".join(f"defined({m})" for m in forbidden_defines(layers)),
        "model": graph.name, "contract": contract, "version": version, "plan": plan,
        "p": c_name, "P": c_name.upper(),
        "calls": calls, "params": params,
        "consts": [{"c": c, "body": c_array_body(c.data)} for c in consts.values()],
        "inputs": io(graph.inputs), "outputs": io(graph.outputs),
        "num_layers": len(layers), "layer_names": [layer.name for layer in layers],
        "layer_ops": [layer.op for layer in layers],
        "arena_decl": max(plan.arena_bytes, 4),
        "state": {"bytes": state.total_bytes,
                  "slots": [{"offset": s.offset, "bytes": s.nbytes, "fill": s.fill, "name": c_comment(s.name),
                             "short": short_name(graph, s.tensor)} for s in state.slots]},
        "buffers": [{"short": short_name(graph, b.tensor) if b.tensor is not None else b.key, "size": b.size,
                     "offset": b.offset, "first": b.first, "last": b.last, "name": c_comment(b.name)}
                    for b in sorted(plan.buffers, key=lambda b: (b.first, b.offset))],
    }
    files = {name: env.get_template(f"{name}.j2").render(**ctx) for name in MODEL_FILES}
    return GeneratedModel(files)


def _quant_text(graph: Graph, t: int) -> dict[str, Any]:
    """An int8 interface tensor's scale (a float32 C literal) and zero point, for model.h."""
    tensor = graph.tensors[t]
    q = tensor.quant
    if tensor.dtype != "int8" or q is None or q.per_channel:
        return {"scale": None, "zero_point": None}
    text = f"{float(np.float32(q.scale)):.9g}"
    return {"scale": text + ("" if "." in text or "e" in text else ".0") + "f", "zero_point": q.zero_point}


def _free_intervals(plan: Plan, steps: list[int]) -> list[tuple[int, int]]:
    """Arena byte ranges [start, end) that hold no buffer live at any of `steps`."""
    taken = sorted((b.offset, b.offset + b.size) for b in plan.buffers
                   if b.size and any(b.first <= s <= b.last for s in steps))
    free, pos = [], 0
    for lo, hi in taken:
        if lo > pos:
            free.append((pos, lo))
        pos = max(pos, hi)
    if pos < plan.arena_bytes:
        free.append((pos, plan.arena_bytes))
    return free


def canary_tables(layers: list[Layer], plan: Plan, stage: PatchStage | None) -> dict[str, Any]:
    """For the TINYML_CANARY debug build: at each checkpoint (after every layer outside a patched
    stage, after the whole stage), the ranges that must still hold the canary (free while it ran)
    and the ranges to poison (free from the next step on)."""
    n = len(layers)
    internal_steps = set(stage.layers[:-1]) if stage else set()
    points = []
    for layer in layers:
        if layer.index in internal_steps:
            continue
        ran = list(range(stage.layers[0], stage.split + 1)) if stage and layer.index == stage.split else [layer.index]
        points.append({"layer": layer.index, "check": _free_intervals(plan, ran),
                       "poison": _free_intervals(plan, [layer.index + 1] if layer.index + 1 <= n else [n])})
    return {"start": _free_intervals(plan, [-1]), "points": points}
