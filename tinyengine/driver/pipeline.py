"""The compile pipeline: .tflite -> IR -> lowered layers -> memory plan -> C files.

Each stage is a pure function of the previous one; `write_output` puts the
result on disk atomically (a failed compile leaves no partial directory)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from codegen import GeneratedModel, generate
from codegen.names import DEFAULT_C_NAME, check_c_name

from .. import __version__
from ..core.interface import Interface, int8_interface
from ..core.ir import Graph
from ..core.layers import Layer
from ..core.passes import plan_model
from ..core.patch import PatchSpec, PatchStage
from ..core.planner import Plan
from ..core.reader import read_tflite
from ..core.schedule import DEFAULT_MAX_OVERHEAD, Schedule
from ..core.validate import validate
from ..core.variants import DEFAULT_KERNELS
from .atomic import staged_dir
from .memplot import plot_memory
from .oracle import InterfaceOracle, Oracle
from .oracle_child import isolated_oracle
from .plan_json import plan_json
from .report import render_report


@dataclass(frozen=True)
class Compiled:
    graph: Graph
    layers: list[Layer]
    plan: Plan
    code: GeneratedModel
    contract: str
    source: Path
    schedule: Schedule | None = None
    kernels: str = DEFAULT_KERNELS      # the kernel set: "fast" or "reference"
    interface: Interface | None = None  # the model tensors the interface stands for (--int8-io); None: its own
    c_name: str = DEFAULT_C_NAME        # the prefix of the generated symbols (--name)

    @property
    def int8_io(self) -> bool:
        return self.interface is not None and self.interface != Interface.own(self.graph)

    def oracle(self, reference: str | None = None) -> Oracle:
        """The reference interpreter (default: the contract's) behind this network's interface."""
        base = isolated_oracle(reference or self.contract, self.source,
                              len(self.interface.outputs if self.interface else self.graph.outputs))
        return InterfaceOracle(base, self.graph, self.interface.inputs) if self.int8_io else base

    @property
    def stage(self) -> PatchStage | None:
        return self.schedule.stage if self.schedule else None

    def schedule_json(self) -> dict:
        """The schedule in plan.json: in-place layers, the patched stage and what --patch auto tried."""
        doc: dict = {
            "in_place": [{"layer": layer.index, "op": layer.op, "over_tensor": layer.inplace_of}
                         for layer in self.layers if layer.inplace_of is not None],
            "overlapping": [{"layer": layer.index, "op": layer.op, "input": layer.overlaps[0],
                             "max_start_after": layer.overlaps[1]}
                            for layer in self.layers if layer.overlaps is not None],
            "patch_stage": None,
        }
        if self.schedule is None:
            return doc
        st = self.stage
        if st is not None:
            doc["patch_stage"] = {
                "spec": str(st.spec), "layers": list(st.layers), "rows": st.spec.rows, "cols": st.spec.cols,
                "patches": len(st.regions), "macs_patched": st.macs, "macs_unpatched": st.base_macs,
                "overhead": round(st.overhead, 4), "output_over_input": st.output_over_input,
                "unpatched_arena_bytes": self.schedule.unpatched_arena,
                "regions": [{str(t): [r.y0, r.y1, r.x0, r.x1] for t, r in need.items()} for need in st.regions],
            }
        doc["patch_candidates"] = [{"spec": c.spec, "arena_bytes": c.arena_bytes, "overhead": round(c.overhead, 4),
                                    "within_limit": c.allowed} for c in self.schedule.candidates]
        doc["max_overhead"] = self.schedule.max_overhead
        return doc

    def meta(self) -> dict:
        def io(ts: tuple[int, ...]) -> list[dict]:
            out = []
            for t in ts:
                tensor = self.graph.tensors[t]
                q = tensor.quant
                out.append({"index": t, "name": tensor.name, "shape": list(tensor.shape), "dtype": tensor.dtype,
                            "scale": q.scale if q else None, "zero_point": q.zero_point if q else None})
            return out
        return {"model": self.graph.name, "source": str(self.source), "contract": self.contract,
                "patch": str(self.stage.spec) if self.stage else "off", "kernels": self.kernels,
                "int8_io": self.int8_io, "c_name": self.c_name,
                "inplace": any(x.inplace_of is not None or x.overlaps is not None for x in self.layers),
                "tinyml_version": __version__, "inputs": io(self.graph.inputs), "outputs": io(self.graph.outputs),
                "layers": [{"index": layer.index, "op": layer.op, "name": layer.name, "output": layer.outputs[0]}
                           for layer in self.layers]}


def compile_model(path: str | Path, contract: str = "tflm", name: str | None = None,
                  inplace: bool = True, patch: str | PatchSpec = "off",
                  max_overhead: float = DEFAULT_MAX_OVERHEAD, kernels: str = DEFAULT_KERNELS,
                  int8_io: bool = False, c_name: str = DEFAULT_C_NAME) -> Compiled:
    """`name` overrides the model name (default: the file's stem); `inplace=False` plans
    every layer out of place (for comparison); `patch` is "off", "auto" or a PatchSpec;
    `kernels` is "fast" or "reference" (tinyengine.core.kernels); `int8_io` drops the QUANTIZE
    of float inputs and the DEQUANTIZE of float outputs (tinyengine.core.interface); `c_name` is
    the prefix of the generated symbols (codegen.names.check_c_name)."""
    check_c_name(c_name)
    graph = read_tflite(path)
    validate(graph)
    if name:
        graph = dataclasses.replace(graph, name=name)
    graph, interface = int8_interface(graph) if int8_io else (graph, Interface.own(graph))
    sched = plan_model(graph, contract, inplace, patch, max_overhead, kernels)
    code = generate(graph, sched.layers, sched.plan, contract, __version__, sched.stage, c_name)
    return Compiled(graph, sched.layers, sched.plan, code, contract, Path(path), sched, kernels, interface, c_name)


def write_output(compiled: Compiled, out_dir: str | Path, board: str | None = None) -> Path:
    """Write model.c/.h, model_data.h, plan.json, meta.json, report.md into out_dir, atomically.
    `board`, if given, is recorded in meta.json (the plan was checked against it)."""
    out_dir = Path(out_dir)
    with staged_dir(out_dir) as tmp:
        compiled.code.write(tmp)
        (tmp / "plan.json").write_text(plan_json(compiled.plan, compiled.graph, compiled.layers,
                                                 compiled.schedule_json()))
        (tmp / "meta.json").write_text(json.dumps({**compiled.meta(), "board": board}, indent=2))
        (tmp / "report.md").write_text(render_report(compiled.graph, compiled.layers, compiled.plan,
                                                     compiled.contract, compiled.schedule))
        plot_memory(compiled.plan, compiled.layers, tmp / "memory.png",
                    f"{compiled.graph.name}: arena {compiled.plan.arena_bytes:,} B", compiled.stage)
        shutil.copyfile(compiled.source, tmp / "model.tflite")
    return out_dir
