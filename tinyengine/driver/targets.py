"""One interface over every place a compiled model runs: the host (cffi) and
QEMU boards (firmware through semihosting). A batch of inputs goes in; outputs,
optional per-layer dumps and (on QEMU) instruction counts come out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.build import build_defines

from ..core.errors import TinyMLError
from ..core.variants import variant_named
from . import appglue
from .appglue import GlueModel
from .boards import BOARDS_DIR, HOST, Board, load_board, target_names
from .firmware import C_FLAGS, Firmware, FirmwareModel, build_firmware
from .host import MODEL_FILES, _locked, cache_root, runtime_headers, runtime_sources
from .pipeline import Compiled
from .qemu import run_firmware

NUMPY = {"int8": np.int8, "float32": np.float32, "int32": np.int32, "int16": np.int16, "uint8": np.uint8}


@dataclass
class Batch:
    outputs: list[list[np.ndarray]]                 # per inference, per model output
    dumps: list[bytes] | None = None                # per inference: every layer's output, in layer order
    layer_instructions: np.ndarray | None = None    # [inferences, layers] (QEMU only)
    total_instructions: np.ndarray | None = None    # [inferences]


def parse_targets(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    available = target_names()
    for t in names:
        if t not in available:
            raise TinyMLError(f"unknown target '{t}'; available: {', '.join(available)}")
    return names


def peak_description(compiled: Compiled) -> str:
    layer = compiled.layers[min(compiled.plan.peak_step, len(compiled.layers) - 1)]
    return f"layer {layer.index} {layer.op} '{layer.name}'"


def firmware_model(compiled: Compiled, model_dir: Path, testvector: tuple[bytes, bytes] | None = None
                   ) -> FirmwareModel:
    """`compiled` (written to `model_dir`) as one model of a firmware; `testvector`: the self-test's
    input and reference output bytes (real boards)."""
    g = compiled.graph
    glue = GlueModel(g.name, compiled.c_name, len(compiled.layers), tuple(g.tensors[t].nbytes for t in g.inputs),
                     tuple(g.tensors[t].nbytes for t in g.outputs), compiled.plan.arena_bytes, testvector)
    return FirmwareModel(Path(model_dir), glue, compiled.plan.flash_bytes, peak_description(compiled),
                         compiled.plan.state_bytes,
                         any(layer.variant is not None and variant_named(layer.op, layer.variant).weights is not None
                             for layer in compiled.layers))


def models_defines(compiled: list[Compiled]) -> tuple[str, ...]:
    """The runtime's flags for a firmware of these models: one set for all of them."""
    return build_defines([layer for c in compiled for layer in c.layers])


def firmware_for(compiled: Compiled, model_dir: Path, board: Board, out_dir: Path | None = None,
                 app: Path | None = None) -> Firmware:
    """Build (or reuse, keyed by a hash of every source) the firmware of `model_dir` for `board`."""
    if out_dir is None:
        h = hashlib.sha256(" ".join([*board.cflags, *C_FLAGS, *build_defines(compiled.layers), str(app),
                                     compiled.c_name]).encode())
        board_files = sorted(p for p in BOARDS_DIR.rglob("*") if p.is_file())
        for f in [*(model_dir / m for m in MODEL_FILES), *runtime_sources(), *runtime_headers(), *board_files,
                  *([app] if app else []), Path(appglue.__file__)]:
            h.update(f.name.encode() + f.read_bytes())
        out_dir = cache_root() / "arm" / f"{board.name}-{h.hexdigest()[:20]}"
        with _locked(out_dir):
            if (out_dir / "firmware.elf").exists() and (out_dir / ".complete").exists():
                from .firmware import size_report
                return Firmware(board, out_dir / "firmware.elf",
                                size_report(board, out_dir / "firmware.elf", compiled.plan.arena_bytes))
            fw = _build(compiled, model_dir, board, out_dir, app)
            (out_dir / ".complete").write_text("ok")
            return fw
    return _build(compiled, model_dir, board, out_dir, app)


def _build(compiled: Compiled, model_dir: Path, board: Board, out_dir: Path, app: Path | None) -> Firmware:
    return build_firmware([firmware_model(compiled, model_dir)], board, out_dir, app, build_defines(compiled.layers))


def dump_layout(compiled: Compiled) -> tuple[np.ndarray, int]:
    """Byte offset of each layer's output in a per-layer dump, and the dump's size. Layers inside
    a patched stage (other than its last) never hold a whole tensor and dump nothing."""
    offsets, pos = [], 0
    internal = compiled.stage.internal if compiled.stage else frozenset()
    for layer in compiled.layers:
        offsets.append(pos)
        if layer.outputs[0] not in internal:
            pos += compiled.graph.tensors[layer.outputs[0]].nbytes
    return np.array(offsets, dtype=np.uint32), pos


def run_batch(compiled: Compiled, model_dir: Path, target: str, input_sets: list[list[np.ndarray]],
              dump: bool = False, timeout: float = 300.0, canary: bool = False,
              firmware: tuple[Firmware, int] | None = None) -> Batch:
    """`canary` (host only): the debug build that checks and poisons free arena bytes after every layer.
    `firmware` (QEMU only): run model K of this already built firmware (several models) instead."""
    g = compiled.graph
    specs = [(g.tensors[t].shape, np.dtype(NUMPY[g.tensors[t].dtype])) for t in g.outputs]
    if target == HOST:
        from .host import build_host

        model = build_host(model_dir, [g.tensors[t].nbytes for t in g.inputs], specs, canary,
                           build_defines(compiled.layers), compiled.c_name)
        offsets, total = dump_layout(compiled)
        outs, dumps = [], []
        model.reset()   # a batch is one sequence from the initial state, as a fresh firmware run is
        for inputs in input_sets:
            o, d = model.run(inputs, offsets if dump else None, total)
            outs.append(o)
            dumps.append(d)
        return Batch(outs, dumps if dump else None)
    if canary:
        raise TinyMLError("the canary build runs on the host only")
    board = load_board(target)
    fw, k = firmware if firmware is not None else (firmware_for(compiled, model_dir, board), 0)
    for inputs in input_sets:
        for x, t in zip(inputs, g.inputs):
            if x.nbytes != g.tensors[t].nbytes:
                raise TinyMLError(f"input has {x.nbytes} bytes, tensor '{g.tensors[t].name}' needs "
                                  f"{g.tensors[t].nbytes}")
    raw = b"".join(np.ascontiguousarray(x).tobytes() for inputs in input_sets for x in inputs)
    run = run_firmware(board, fw.elf, raw, len(compiled.layers), dump=dump, timeout=timeout, model=k)
    out_bytes = sum(g.tensors[t].nbytes for t in g.outputs)
    outs = []
    for n in range(len(input_sets)):
        chunk, pos, one = run.outputs[n * out_bytes:(n + 1) * out_bytes], 0, []
        for shape, dtype in specs:
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            one.append(np.frombuffer(chunk, dtype=dtype, count=size // dtype.itemsize, offset=pos).reshape(shape))
            pos += size
        outs.append(one)
    dumps = None
    if dump:
        _, per = dump_layout(compiled)
        dumps = [run.dump[n * per:(n + 1) * per] for n in range(len(input_sets))]
    return Batch(outs, dumps, run.layer_instructions, run.total_instructions)
