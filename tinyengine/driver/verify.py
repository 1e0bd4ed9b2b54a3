"""Bit-exact verification of generated code against a reference interpreter,
with the first differing layer named on a mismatch."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen.build import build_defines

from ..core.ir import Graph
from .boards import HOST
from .host import HostModel, build_host
from .pipeline import Compiled, compile_model, write_output
from .targets import NUMPY, dump_layout, run_batch


@dataclass(frozen=True)
class LayerMismatch:
    layer: int
    op: str
    tensor: str
    differing_bytes: int
    total: int
    max_abs_diff: float

    def __str__(self) -> str:
        return (f"first mismatch at layer {self.layer} {self.op} (tensor '{self.tensor}'): "
                f"{self.differing_bytes}/{self.total} values differ, max |diff| {self.max_abs_diff:g}")


@dataclass
class VerifyResult:
    model: str
    reference: str
    target: str
    layers: int
    inputs: int = 0
    exact: int = 0
    first_mismatch: LayerMismatch | None = None
    failed_input: int | None = None
    notes: list[str] = field(default_factory=list)
    instructions: tuple[int, int] | None = None   # min, max per inference (QEMU targets)
    arena_bytes: int = 0
    patch: str = "off"
    refused: str | None = None   # the reference interpreter cannot check this model: why (one line)

    @property
    def ok(self) -> bool:
        return self.inputs > 0 and self.exact == self.inputs

    def summary(self) -> str:
        if self.refused is not None:
            return f"{self.model}: not checked: {self.refused}"
        line = (f"{self.model}: {self.exact}/{self.inputs} inputs bit-exact vs {self.reference}, "
                f"{self.layers} layers, {self.target}, arena {self.arena_bytes:,} B"
                + (f" (patches {self.patch})" if self.patch != "off" else ""))
        if self.instructions is not None:
            lo, hi = self.instructions
            line += f", {lo:,} instructions/inference" if lo == hi else f", {lo:,}-{hi:,} instructions/inference"
        if self.first_mismatch is not None:
            line += f"\n  input #{self.failed_input}: {self.first_mismatch}"
        return line


def random_inputs(graph: Graph, count: int, seed: int) -> list[list[np.ndarray]]:
    """Uniform random values over each input's full representable (or quantized) range."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        one = []
        for t in graph.inputs:
            tensor = graph.tensors[t]
            if tensor.dtype == "float32":
                lo, hi = _float_range(graph, t)
                one.append(rng.uniform(lo, hi, size=tensor.shape).astype(np.float32))
            else:
                info = np.iinfo(NUMPY[tensor.dtype])
                one.append(rng.integers(info.min, info.max + 1, size=tensor.shape, dtype=NUMPY[tensor.dtype]))
        sets.append(one)
    return sets


def image_inputs(graph: Graph, images: np.ndarray, count: int) -> list[list[np.ndarray]]:
    """Real-looking inputs: the first `count` grey images resized and quantized to input 0."""
    from .datasets import image_like_input

    t = graph.tensors[graph.inputs[0]]
    return [[image_like_input(images[i], t.shape, t.quant.scale, t.quant.zero_point)] for i in range(count)]


def _float_range(graph: Graph, t: int) -> tuple[float, float]:
    for op in graph.ops:
        if op.kind == "QUANTIZE" and op.inputs[0] == t:
            q = graph.tensors[op.outputs[0]].quant
            return q.scale * (-128 - q.zero_point), q.scale * (127 - q.zero_point)
    return -1.0, 1.0


def host_model(compiled: Compiled, model_dir: Path) -> HostModel:
    g = compiled.graph
    return build_host(model_dir, [g.tensors[t].nbytes for t in g.inputs],
                      [(g.tensors[t].shape, np.dtype(NUMPY[g.tensors[t].dtype])) for t in g.outputs],
                      defines=build_defines(compiled.layers), c_name=compiled.c_name)


def verify_target(compiled: Compiled, model_dir: Path, input_sets: list[list[np.ndarray]], target: str = HOST,
                  reference: str | None = None, progress: Callable[[int], None] | None = None,
                  chunk: int = 10, canary: bool = False) -> VerifyResult:
    """Run every input set on `target` and through the oracle; stop at the first mismatching
    input and name the first layer whose output differs (rerunning that input with dumps)."""
    reference = reference or compiled.contract
    g = compiled.graph
    oracle = compiled.oracle(reference)
    result = VerifyResult(g.name, reference, target, len(compiled.layers), arena_bytes=compiled.plan.arena_bytes,
                          patch=str(compiled.stage.spec) if compiled.stage else "off")
    instructions = []
    # A stateful model (LSTM) carries its state from one input to the next: the inputs are one
    # sequence from the initial state, run as one batch on the target and in order by the oracle.
    stateful = bool(g.variables)
    if stateful:
        chunk = max(len(input_sets), 1)
        oracle.reset()
    for base in range(0, len(input_sets), chunk):
        sets = input_sets[base:base + chunk]
        batch = run_batch(compiled, model_dir, target, sets, canary=canary)
        if batch.total_instructions is not None:
            instructions.extend(int(x) for x in batch.total_instructions)
        for k, inputs in enumerate(sets):
            expected = oracle.run(inputs)
            result.inputs += 1
            if all(np.array_equal(a, b) for a, b in zip(batch.outputs[k], expected)):
                result.exact += 1
                continue
            result.failed_input = base + k
            rerun = input_sets[:base + k + 1] if stateful else [inputs]
            dumped = run_batch(compiled, model_dir, target, rerun, dump=True)
            if stateful:
                oracle.reset()
            for x in rerun:
                oracle.run(x)
            offsets, _ = dump_layout(compiled)
            result.first_mismatch = first_layer_mismatch(compiled, dumped.dumps[-1], offsets, oracle)
            return result
        if progress:
            progress(result.inputs)
    if instructions:
        result.instructions = (min(instructions), max(instructions))
    return result


def verify_host(compiled: Compiled, model_dir: Path, input_sets: list[list[np.ndarray]],
                reference: str | None = None,
                progress: Callable[[int], None] | None = None) -> VerifyResult:
    return verify_target(compiled, model_dir, input_sets, HOST, reference, progress)


def first_layer_mismatch(compiled: Compiled, dump: bytes, offsets: np.ndarray, oracle) -> LayerMismatch | None:
    g = compiled.graph
    internal = compiled.stage.internal if compiled.stage else frozenset()
    for layer, off in zip(compiled.layers, offsets):
        if layer.outputs[0] in internal:
            continue  # exists only patch by patch
        t = g.tensors[layer.outputs[0]]
        dtype = NUMPY[t.dtype]
        ours = np.frombuffer(dump, dtype=dtype, count=t.num_elements, offset=int(off))
        ref = oracle.tensor(t.index).reshape(-1)
        if not np.array_equal(ours, ref):
            diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
            return LayerMismatch(layer.index, layer.op, t.name, int((ours != ref).sum()), t.num_elements,
                                 float(diff.max()))
    return None


def verify_model(model: Path, contract: str, input_sets: list[list[np.ndarray]] | None = None, count: int = 50,
                 seed: int = 0, reference: str | None = None,
                 progress: Callable[[int], None] | None = None, target: str = HOST, **schedule) -> VerifyResult:
    """Compile `model` under `contract` into a temporary directory and verify it on `target`
    (random inputs unless `input_sets` is given) against `reference` (default: the contract's oracle).
    `schedule` goes to compile_model (inplace, patch, max_overhead)."""
    compiled = compile_model(model, contract, **schedule)
    with tempfile.TemporaryDirectory(prefix="tinyml-verify-") as tmp:
        out = write_output(compiled, Path(tmp) / compiled.graph.name)
        sets = input_sets if input_sets is not None else random_inputs(compiled.graph, count, seed)
        return verify_target(compiled, out, sets, target, reference, progress)
