"""The work behind the `tinyml` subcommands, as plain functions: typed arguments in, results
(with the lines the CLI prints) out, TinyMLError on bad input. tinyengine/cli.py only parses
arguments and calls these. Heavy modules (code generation, TensorFlow, QEMU) are imported by
the function that needs them, so `tinyml boards` or `--help` stay quick."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..core.contracts import CONTRACTS
from ..core.errors import TinyMLError
from ..core.patch import parse_patch
from ..core.schedule import DEFAULT_MAX_OVERHEAD
from ..core.variants import DEFAULT_KERNELS
from .atomic import check_output_dir, staged_dir

if TYPE_CHECKING:
    from .bench import BenchRow
    from .boards import Board
    from .firmware import Firmware
    from .pipeline import Compiled
    from .verify import VerifyResult

Progress = Callable[[int], None]


# ---- compile ----

@dataclass(frozen=True)
class CompileResult:
    compiled: Compiled
    out: Path
    board: str | None
    patch: str               # the --patch asked for: "auto", "off" or RxC@L
    max_overhead: float

    def lines(self) -> list[str]:
        c, p = self.compiled, self.compiled.plan
        fit = f", fits {self.board}" if self.board else ""
        state = f", state {p.state_bytes:,} B" if p.state_bytes else ""
        lines = [f"{c.graph.name}: {len(c.layers)} layers -> {self.out}/model.c "
                 f"(arena {p.arena_bytes:,} B{state}, flash {p.flash_bytes:,} B, contract {c.contract}{fit})"]
        st = c.stage
        if st is not None:
            lines.append(f"  patch-based stage: layers {st.layers[0]}-{st.split} in a {st.spec.rows}x{st.spec.cols} "
                         f"grid (--patch {st.spec}), {100 * st.overhead:.1f}% extra MACs; "
                         f"{c.schedule.unpatched_arena:,} B without patches")
        elif self.patch == "auto":
            lines.append(f"  no patch split beats the layer-by-layer plan within {100 * self.max_overhead:.0f}% "
                         "extra MACs")
        return lines


def compile_for_board(model: str | Path, reference: str = "tflm", board: str | None = None, patch: str = "off",
                      inplace: bool = True, max_overhead: float = DEFAULT_MAX_OVERHEAD,
                      kernels: str = DEFAULT_KERNELS, int8_io: bool = False, c_name: str | None = None) -> Compiled:
    """Compile `model`; with `board`, raise unless the plan fits it. When it does not fit and
    `patch` is "off", the error says what --patch auto would plan instead, if that is smaller."""
    from .pipeline import compile_model

    named = {"name": c_name, "c_name": c_name} if c_name else {}
    compiled = compile_model(model, reference, inplace=inplace, patch=parse_patch(patch), max_overhead=max_overhead,
                             kernels=kernels, int8_io=int8_io, **named)
    if board:
        from .boards import load_board
        from .firmware import check_plan_fits
        from .targets import peak_description

        try:
            check_plan_fits(load_board(board), compiled.plan.peak_sram_bytes, compiled.plan.flash_bytes,
                            peak_description(compiled))
        except TinyMLError as exc:
            if patch != "off":
                raise
            patched = compile_model(model, reference, inplace=inplace, patch="auto", max_overhead=max_overhead,
                                    kernels=kernels, int8_io=int8_io, **named)
            if patched.plan.arena_bytes < compiled.plan.arena_bytes:
                raise TinyMLError(f"{exc}; with --patch auto the arena would be {patched.plan.arena_bytes:,} B "
                                  f"(patches {patched.stage.spec})") from None
            raise
    return compiled


def compile_to(model: str | Path, output: str | Path, reference: str = "tflm", board: str | None = None,
               patch: str = "off", inplace: bool = True,
               max_overhead: float = DEFAULT_MAX_OVERHEAD, kernels: str = DEFAULT_KERNELS,
               int8_io: bool = False, c_name: str | None = None) -> CompileResult:
    """`tinyml compile`: compile (checked against `board`) and write the output directory.
    `c_name` (--name): the model's name and the prefix of its C symbols (default tinyml_*)."""
    from .pipeline import write_output

    check_output_dir(Path(output))   # before any work: -o naming a file is refused
    compiled = compile_for_board(model, reference, board, patch, inplace, max_overhead, kernels, int8_io, c_name)
    out = write_output(compiled, output, board=board)
    return CompileResult(compiled, out, board, patch, max_overhead)


def load_compiled_dir(out_dir: Path) -> tuple[Compiled, dict]:
    """The compiled model of a directory written by `tinyml compile` (recompiled from its copy of
    the model with the recorded settings), and its meta.json."""
    from .pipeline import compile_model

    meta_path = out_dir / "meta.json"
    if not meta_path.exists():
        raise TinyMLError(f"'{out_dir}' is not a compiled model directory (no meta.json); run 'tinyml compile' first")
    meta = json.loads(meta_path.read_text())
    compiled = compile_model(out_dir / "model.tflite", meta["contract"], name=meta.get("model"),
                             inplace=meta.get("inplace", True), patch=parse_patch(meta.get("patch", "off")),
                             kernels=meta.get("kernels", "reference"), int8_io=meta.get("int8_io", False),
                             c_name=meta.get("c_name", "tinyml"))
    return compiled, meta


def reference_vector(compiled: Compiled, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One random input and the reference interpreter's outputs for it (a firmware self-test)."""
    from .verify import random_inputs

    inputs = random_inputs(compiled.graph, 1, seed)[0]
    expected = compiled.oracle().run(inputs)
    return inputs, expected


# ---- report sections ----

def firmware_section(fw: Firmware) -> str:
    """The report.md section of a firmware build: flash and SRAM use, sections."""
    s = fw.size
    lines = [f"## Firmware for {fw.board.name}", "", f"{fw.board.description}", "",
             f"- flash: **{s.flash_used:,} B** of {s.flash_size:,} B ({100 * s.flash_used / s.flash_size:.1f}%)",
             f"- SRAM: **{s.sram_used:,} B** of {s.sram_size:,} B ({100 * s.sram_used / s.sram_size:.1f}%): "
             f"arena {s.arena_bytes:,}, stack {s.stack_bytes:,}, "
             f"other data {s.sram_used - s.arena_bytes - s.stack_bytes:,}",
             "", "| section | address | bytes | region |", "|---|---:|---:|---|"]
    for sec in s.sections:
        lines.append(f"| `{sec.name}` | 0x{sec.address:08x} | {sec.size:,} | {sec.region or '-'} |")
    return "\n".join(lines) + "\n"


def profile_section(board_name: str, compiled: Compiled, instructions: np.ndarray, total: int) -> str:
    """The report.md section of a profiled run: instructions per layer."""
    lines = [f"## Instructions per layer on {board_name}", "",
             "Counted in QEMU with -icount shift=0 (one instruction per virtual ns) from SysTick, for one inference.",
             "", f"Total: **{total:,} instructions**", "",
             "| # | op | instructions | share | MACs | instr/MAC |", "|---|---|---:|---:|---:|---:|"]
    for layer, n in zip(compiled.layers, instructions):
        per_mac = f"{n / layer.macs:.1f}" if layer.macs else "-"
        lines.append(f"| {layer.index} | {layer.op} | {int(n):,} | {100 * n / max(total, 1):.1f}% | "
                     f"{layer.macs:,} | {per_mac} |")
    return "\n".join(lines) + "\n"


# ---- build ----

@dataclass(frozen=True)
class BuildResult:
    compiled: Compiled
    board: Board | None = None        # None: the host build
    firmware: Firmware | None = None
    host_module: str | None = None    # the host build's extension module file
    names: tuple[str, ...] = ()       # the firmware's models, when it holds several
    shared_arena: bool = False

    def lines(self) -> list[str]:
        name = " + ".join(self.names) if self.names else self.compiled.graph.name
        if self.board is None:
            return [f"{name}: host build ready ({self.host_module})"]
        fw, board = self.firmware, self.board
        lines = [f"{name}: {fw.elf} for {board.name}: {fw.size.summary()}"
                 + (" (one arena shared by the models)" if self.shared_arena else "")]
        if not board.runs_here:
            tool = board.flash_tool or "pyocd / openocd"
            lines.append(f"  flash: {tool.format(hex=fw.elf.with_suffix('.hex'), elf=fw.elf)}")
        return lines


def testvector_bytes(compiled: Compiled) -> tuple[bytes, bytes]:
    """One random input and the reference output for it, as the self-test's bytes."""
    inputs, expected = reference_vector(compiled)
    return (b"".join(np.ascontiguousarray(x).tobytes() for x in inputs),
            b"".join(np.ascontiguousarray(y).tobytes() for y in expected))


def build_model_dir(model_dir: Path | list[Path], target: str | None = None, output: Path | None = None,
                    shared_arena: bool = False) -> BuildResult:
    """`tinyml build`: the host extension, or the firmware for a board (default: the board the
    directory was compiled for, else the host), recorded in the directory's report.md. Several
    directories (compiled with different --name) build into one firmware, in that order;
    `shared_arena`: they share one arena, as large as the largest plan (models that never run at
    the same time)."""
    from .boards import HOST, load_board
    from .firmware import build_firmware
    from .report import update_report
    from .targets import firmware_model, models_defines

    dirs = [Path(d) for d in (model_dir if isinstance(model_dir, list) else [model_dir])]
    loaded = [load_compiled_dir(d) for d in dirs]
    compiled, meta = loaded[0]
    target = target or meta.get("board") or HOST
    if target == HOST:
        if len(dirs) > 1:
            raise TinyMLError("the host build takes one model directory; several build into one firmware for a board "
                              "(--target BOARD)")
        from .verify import host_model

        model = host_model(compiled, dirs[0])
        return BuildResult(compiled, host_module=model.module.__file__)
    board = load_board(target)
    if output is None and len(dirs) > 1:
        raise TinyMLError("several model directories build into one firmware: give its directory with -o")
    out = output if output else dirs[0] / f"fw-{board.name}"
    with_vectors = board.console == "uart"
    models = [firmware_model(c, d, testvector_bytes(c) if with_vectors else None) for (c, _), d in zip(loaded, dirs)]
    with staged_dir(Path(out)) as tmp:     # the firmware directory appears whole or not at all
        built = build_firmware(models, board, tmp, defines=models_defines([c for c, _ in loaded]),
                               shared_arena=shared_arena)
    fw = dataclasses.replace(built, elf=Path(out) / built.elf.name)
    for d in dirs:
        update_report(d, f"firmware {board.name}", firmware_section(fw))
    names = tuple(c.graph.name for c, _ in loaded) if len(dirs) > 1 else ()
    return BuildResult(compiled, board, fw, names=names, shared_arena=shared_arena)


# ---- run ----

@dataclass(frozen=True)
class RunResult:
    compiled: Compiled
    target: str
    outputs: list[np.ndarray]
    saved: list[str]                          # where each output went (empty: not saved)
    layer_instructions: np.ndarray | None = None   # with --profile
    total_instructions: int | None = None

    def lines(self) -> list[str]:
        lines = []
        for i, y in enumerate(self.outputs):
            if self.saved:
                lines.append(f"output {i} -> {self.saved[i]}")
            else:
                lines.append(f"output {i} ({y.dtype} {list(y.shape)}): {np.array2string(y.reshape(-1), threshold=64)}")
        if self.layer_instructions is not None:
            total = self.total_instructions
            lines.append(f"{'#':>3}  {'op':<22} {'instructions':>14} {'share':>7}")
            for layer, n in zip(self.compiled.layers, self.layer_instructions):
                lines.append(f"{layer.index:>3}  {layer.op:<22} {int(n):>14,} {100 * n / max(total, 1):>6.1f}%")
            lines.append(f"     {'total':<22} {total:>14,}")
        return lines


def read_inputs(compiled: Compiled, paths: list[str]) -> list[np.ndarray]:
    """The model's inputs from .npy files, one per input in order, checked against its tensors."""
    from .targets import NUMPY

    g = compiled.graph
    if len(g.inputs) != len(paths):
        raise TinyMLError(f"the model has {len(g.inputs)} inputs, {len(paths)} --input files given")
    inputs = []
    for path, t in zip(paths, g.inputs):
        tensor = g.tensors[t]
        try:
            x = np.load(path, allow_pickle=False)
        except OSError as exc:
            raise TinyMLError(f"cannot read input '{path}': {exc.strerror or exc}") from None
        except Exception as exc:   # numpy raises assorted errors on empty or corrupt files
            raise TinyMLError(f"input '{path}' is not a readable .npy file ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})") from None
        if not isinstance(x, np.ndarray):
            raise TinyMLError(f"input '{path}' is an .npz archive; give one .npy file per input")
        if x.dtype != NUMPY[tensor.dtype] or tuple(x.shape) != tuple(tensor.shape):
            raise TinyMLError(f"input '{path}' is {x.dtype} {list(x.shape)}; tensor '{tensor.name}' needs "
                              f"{tensor.dtype} {list(tensor.shape)}")
        inputs.append(x)
    return inputs


def run_model_dir(model_dir: Path, inputs: list[str], target: str = "host", output: str | None = None,
                  profile: bool = False, timeout: float = 300.0) -> RunResult:
    """`tinyml run`: one inference on `target`. `output`: save the output tensor there (several
    outputs: <output>_<i>.npy). `profile` (QEMU only): instructions per layer, also added to the
    directory's report.md."""
    from .boards import HOST
    from .report import update_report
    from .targets import run_batch

    compiled, _ = load_compiled_dir(model_dir)
    xs = read_inputs(compiled, inputs)
    if profile and target == HOST:
        raise TinyMLError("--profile counts instructions in QEMU; pick a QEMU target (e.g. --target qemu-an500)")
    batch = run_batch(compiled, model_dir, target, [xs], timeout=timeout)
    outs = batch.outputs[0]
    saved = []
    if output:
        for i, y in enumerate(outs):
            path = output if len(outs) == 1 else f"{Path(output).with_suffix('')}_{i}.npy"
            try:
                np.save(path, y)
            except OSError as exc:
                raise TinyMLError(f"cannot write output '{path}': {exc.strerror or exc}") from None
            saved.append(path)
    if not profile:
        return RunResult(compiled, target, outs, saved)
    per_layer = batch.layer_instructions[0]
    total = int(batch.total_instructions[0])
    update_report(model_dir, f"profile {target}", profile_section(target, compiled, per_layer, total))
    return RunResult(compiled, target, outs, saved, per_layer, total)


# ---- verify ----

def verify_models(models: list[str], reference: str = "tflm", target: str = "host", inputs: int = 50, seed: int = 0,
                  patch: str = "off", inplace: bool = True, max_overhead: float = DEFAULT_MAX_OVERHEAD,
                  progress: Callable[[int, str], Progress | None] | None = None,
                  kernels: str = DEFAULT_KERNELS, int8_io: bool = False) -> Iterator[VerifyResult]:
    """`tinyml verify`: every model, against each reference ("both": every contract), on each of
    the comma-separated targets, one result at a time. With "both", an interpreter that cannot
    load the model gives one `refused` result and the other's check goes on. `progress(total, label)` may give a
    progress callback for one verification."""
    from .oracle import OracleRefusedError
    from .targets import parse_targets
    from .verify import VerifyResult, verify_model

    targets = parse_targets(target)
    references = list(CONTRACTS) if reference == "both" else [reference]
    spec = parse_patch(patch)
    for model in models:
        for ref in references:
            for t in targets:
                tick = progress(inputs, f"{Path(model).stem} {t} vs {ref}") if progress else None
                try:
                    yield verify_model(Path(model), ref, count=inputs, seed=seed, target=t, progress=tick,
                                       inplace=inplace, patch=spec, max_overhead=max_overhead, kernels=kernels,
                                       int8_io=int8_io)
                except OracleRefusedError as exc:
                    if reference != "both":
                        raise
                    # --reference both: one interpreter refusing the model does not stop the other's check
                    yield VerifyResult(Path(model).stem, ref, t, 0, refused=str(exc))
                    break


# ---- export ----

@dataclass(frozen=True)
class ExportResult:
    compiled: Compiled
    board: Board
    out: Path

    def lines(self) -> list[str]:
        return [f"{self.compiled.graph.name}: standalone project for {self.board.name} in {self.out} "
                f"(build: make -C {self.out})"]


def export_model_dir(model_dir: Path | list[Path], board: str, output: Path,
                     shared_arena: bool = False) -> ExportResult:
    """`tinyml export`: a standalone Makefile project for `board` (after checking the plan fits),
    of one compiled model directory or several (one firmware; `shared_arena` as for build)."""
    from .. import __version__
    from .boards import load_board
    from .export import export_project
    from .targets import firmware_model, models_defines

    dirs = [Path(d) for d in (model_dir if isinstance(model_dir, list) else [model_dir])]
    loaded = [load_compiled_dir(d)[0] for d in dirs]
    b = load_board(board)
    models = [firmware_model(c, d, testvector_bytes(c)) for c, d in zip(loaded, dirs)]
    out = export_project(models, b, output, __version__, models_defines(loaded), shared_arena)
    return ExportResult(loaded[0], b, out)


# ---- bench ----

BENCH_NOTE = ("TFLM arena: tflite-micro's recording allocator (print_allocations), measured now; 'activations' is "
              "its head (planned tensors + scratch), the rest is its runtime structures. Gap: our arena over the "
              "liveness lower bound.")


def bench_models(models: list[str], max_overhead: float = DEFAULT_MAX_OVERHEAD, json_path: str | None = None,
                 markdown_path: str | None = None, progress: Progress | None = None) -> tuple[list[BenchRow], str]:
    """`tinyml bench`: a row per model and the table of them (also written as JSON / Markdown
    when the paths are given). `progress(done)` after each model."""
    from .bench import bench_model, render_table, rows_json

    rows = []
    for i, model in enumerate(models):
        rows.append(bench_model(Path(model), max_overhead))
        if progress:
            progress(i + 1)
    table = render_table(rows)
    if json_path:
        Path(json_path).write_text(json.dumps(rows_json(rows), indent=2))
    if markdown_path:
        Path(markdown_path).write_text(table + "\n")
    return rows, table


# ---- boards, nas ----

def speed_models(models: list[str], boards: str, patch: str = "off", inputs: int = 2, json_path: str | None = None,
                 markdown_path: str | None = None, progress: Callable[[str], None] | None = None) -> str:
    """`tinyml bench --speed`: the reference, fast and speed kernel sets side by side on each board
    (tinyengine.driver.speed); the whole Markdown report, also written when paths are given."""
    from .speed import measure_speed, render_markdown, report_json
    from .targets import parse_targets

    report = measure_speed([Path(m) for m in models], parse_targets(boards), ("reference", "fast", "speed"),
                           patch=patch, inputs=inputs, progress=progress)
    text = render_markdown(report)
    if json_path:
        Path(json_path).write_text(json.dumps(report_json(report), indent=2))
    if markdown_path:
        Path(markdown_path).write_text(text + "\n")
    return text


def board_lines() -> list[str]:
    """`tinyml boards`: one line per board (memory, CPU, where it runs)."""
    from .boards import board_names, load_board

    lines = [f"{'board':<18} {'cpu':<11} {'flash':>9} {'SRAM':>9}  runs"]
    for name in board_names():
        b = load_board(name)
        where = f"QEMU {b.qemu_machine}" if b.runs_here else "hardware (build/export, flash yourself)"
        lines.append(f"{name:<18} {b.cpu:<11} {b.flash.size // 1024:>7} K {b.sram.size // 1024:>7} K  {where}")
    return lines


def device_memory(board: str | None = None, sram_kb: float | None = None,
                  flash_kb: float | None = None) -> tuple[int, int, int]:
    """(SRAM, flash, stack in SRAM) in bytes of the device a search targets: a board's, or the
    sizes given in KiB (with an 8 KiB stack)."""
    if board:
        from .boards import load_board

        b = load_board(board)
        return b.sram.size, b.flash.size, b.stack_bytes if b.stack_in_sram else 0
    if sram_kb and flash_kb:
        return int(sram_kb * 1024), int(flash_kb * 1024), 8192
    raise TinyMLError("give --board, or both --sram-kb and --flash-kb")
