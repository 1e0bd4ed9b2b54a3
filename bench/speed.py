"""Speed benchmark (not a test): instructions per inference of our generated code with the
reference and the fast kernels, per model and board, counted in QEMU (-icount shift=0),
beside TF-Lite Micro + CMSIS-NN figures measured elsewhere (tinyengine/driver/speed.py).

    .venv/bin/python bench/speed.py [--models a.tflite,...] [--boards qemu-an500] [--inputs 2]
        [--kernels reference,fast] [--patch off|auto] [--out bench/results]

Prints the summary table and writes <out>/speed.md and speed.json. A column that fails to
build (e.g. fast kernels not written yet) shows as "build failed: ..." and the run goes on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinyengine.driver.baselines import SHARED_MODELS  # noqa: E402
from tinyengine.driver.speed import measure_speed, render_summary, write_report  # noqa: E402

DEFAULT_BOARDS = "qemu-an386,qemu-an500,qemu-an547"


def _list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _model(name: str) -> Path:
    """A .tflite path, or the stem of a shared model (e.g. ad01_int8)."""
    path = Path(name)
    if path.suffix != ".tflite" and not path.exists():
        path = SHARED_MODELS / f"{name}.tflite"
    if not path.is_file():
        raise SystemExit(f"speed.py: no model '{name}' (looked for {path})")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=_list, default=None,
                    help=f"comma-separated .tflite paths or shared model stems (default: all in {SHARED_MODELS})")
    ap.add_argument("--boards", type=_list, default=_list(DEFAULT_BOARDS), help=f"default {DEFAULT_BOARDS}")
    ap.add_argument("--kernels", type=_list, default=["reference", "fast", "speed"],
                    help="kernel sets, one column each, the first the baseline (default reference,fast,speed)")
    ap.add_argument("--patch", choices=("off", "auto"), default="off")
    ap.add_argument("--inputs", type=int, default=2, help="random inputs per column; the minimum is reported")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    if args.inputs < 1:
        ap.error("--inputs must be at least 1")
    models = [_model(m) for m in args.models] if args.models else sorted(SHARED_MODELS.glob("*.tflite"))
    if not models:
        ap.error(f"no models in {SHARED_MODELS}")
    report = measure_speed(models, args.boards, tuple(args.kernels), args.patch, args.inputs,
                           progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    md, js = write_report(report, args.out)
    print(render_summary(report))
    print(f"\nwrote {md} and {js}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
