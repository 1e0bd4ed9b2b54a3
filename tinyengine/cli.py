"""`tinyml`: compile int8 .tflite models to plain C, build, run and verify them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import __version__
from .contracts import CONTRACTS
from .errors import TinyMLError

TARGETS = ("host",)

EPILOG = """examples:
  tinyml compile model.tflite -o out/model          # C code, plan.json, report.md
  tinyml verify model.tflite --target host --inputs 50
  tinyml run out/model --target host --input x.npy --output y.npy

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
    from .pipeline import compile_model, write_output

    compiled = compile_model(args.model, args.reference)
    out = write_output(compiled, args.output)
    p = compiled.plan
    print(f"{compiled.graph.name}: {len(compiled.layers)} layers -> {out}/model.c "
          f"(arena {p.arena_bytes:,} B, flash {p.flash_bytes:,} B, contract {compiled.contract})")
    return 0


def _load_compiled_dir(out_dir: Path):
    from .pipeline import compile_model

    meta_path = out_dir / "meta.json"
    if not meta_path.exists():
        raise TinyMLError(f"'{out_dir}' is not a compiled model directory (no meta.json); run 'tinyml compile' first")
    meta = json.loads(meta_path.read_text())
    return compile_model(out_dir / "model.tflite", meta["contract"]), meta


def cmd_build(args: argparse.Namespace) -> int:
    from .verify import host_model

    compiled, _ = _load_compiled_dir(Path(args.dir))
    model = host_model(compiled, Path(args.dir))
    print(f"{compiled.graph.name}: host build ready ({model.module.__file__})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .verify import NUMPY, host_model

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
    outs, _ = host_model(compiled, out_dir).run(inputs)
    for i, y in enumerate(outs):
        if args.output:
            target = args.output if len(outs) == 1 else f"{Path(args.output).with_suffix('')}_{i}.npy"
            np.save(target, y)
            print(f"output {i} -> {target}")
        else:
            print(f"output {i} ({y.dtype} {list(y.shape)}): {np.array2string(y.reshape(-1), threshold=64)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify_model

    targets = [t.strip() for t in args.target.split(",") if t.strip()]
    for t in targets:
        if t not in TARGETS:
            raise TinyMLError(f"unknown target '{t}'; available: {', '.join(TARGETS)}")
    references = list(CONTRACTS) if args.reference == "both" else [args.reference]
    status = 0
    for model in args.model:
        for reference in references:
            result = verify_model(Path(model), reference, count=args.inputs, seed=args.seed,
                                  progress=_progress(args.inputs, f"{Path(model).stem} vs {reference}"))
            print(result.summary())
            if not result.ok:
                status = 1
    return status


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
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("build", help="build a compiled model directory for a target",
                       description="Build the generated C and the runtime for a target (host: a cffi extension).")
    p.add_argument("dir", help="directory written by 'tinyml compile'")
    p.add_argument("--target", choices=TARGETS, default="host")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="run a compiled model on one input",
                       description="Run a compiled model on inputs stored as .npy files.")
    p.add_argument("dir", help="directory written by 'tinyml compile'")
    p.add_argument("--target", choices=TARGETS, default="host")
    p.add_argument("--input", action="append", required=True, help=".npy file, one per model input, in order")
    p.add_argument("--output", help="write the output tensor to this .npy file (default: print it)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("verify", help="check generated code bit-exactly against TFLM / LiteRT",
                       description="Compile, build and run each model on random inputs and compare every output "
                                   "byte with the reference interpreter. On a mismatch, names the first layer "
                                   "whose output differs. Exit status 1 on any mismatch.")
    p.add_argument("model", nargs="+", help=".tflite model(s)")
    p.add_argument("--target", default="host", help="comma-separated targets (available: host)")
    p.add_argument("--inputs", type=int, default=50, help="number of random inputs (default: 50)")
    p.add_argument("--reference", choices=(*CONTRACTS, "both"), default="tflm",
                   help="reference interpreter and rounding contract (default: tflm)")
    p.add_argument("--seed", type=int, default=0, help="random seed for the inputs")
    p.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TinyMLError as exc:
        print(f"tinyml: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinyml: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
