"""TinyNAS benchmark (not a test): search a Fashion-MNIST model for given limits and
compare it with MobileNetV2 scaled by width and resolution to the same limits and
trained for as many epochs as the searched model's fine-tuning.

    .venv/bin/python bench/nas.py [--budget-minutes 60] [--sram-kb 64] [--flash-kb 256]

Both models are int8, compiled by the engine, and scored by the generated C on
the whole test set (bit-exact with TF-Lite Micro). Writes bench/results/nas.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tinynas.cost import arch_cost  # noqa: E402
from tinynas.data import load_dataset  # noqa: E402
from tinynas.finish import finetune  # noqa: E402
from tinynas.nas import NasConfig, run_nas  # noqa: E402
from tinynas.search import Limits  # noqa: E402
from tinynas.space import Arch, Block, SearchSpace, Stage, build_keras, scaled, to_int8_tflite  # noqa: E402

MBV2_DEPTHS = (1, 2, 3, 4, 3)


def mobilenetv2_for(space: SearchSpace, width: float, res: int) -> Arch:
    stages = tuple(Stage(scaled(c, width), s, tuple(Block(3, 1 if i == 0 else 6) for _ in range(d)))
                   for i, ((c, s), d) in enumerate(zip(space.base_stages, MBV2_DEPTHS)))
    return Arch(res, width, space.in_channels, space.num_classes, scaled(space.stem_channels, width), stages,
                space.stem_stride(res))


def largest_fitting_mobilenetv2(space: SearchSpace, limits: Limits) -> Arch:
    best = None
    for w in space.widths:
        for r in space.resolutions:
            arch = mobilenetv2_for(space, w, r)
            cost = arch_cost(arch)
            if limits.ok(cost) and (best is None or cost.macs > best[1]):
                best = (arch, cost.macs)
    if best is None:
        raise SystemExit("no scaled MobileNetV2 fits the limits")
    return best[0]


def train_and_score(arch: Arch, ds, epochs: int, batch: int, out: Path) -> dict:
    from tinyengine.pipeline import compile_model, write_output
    from tinyengine.targets import run_batch
    from tinyengine.verify import random_inputs, verify_target
    from tinynas.finish import _quantize

    x_train, x_test = ds.at(ds.x_train, arch.resolution), ds.at(ds.x_test, arch.resolution)
    model = build_keras(arch)
    finetune(model, x_train, ds.y_train, batch, 0, ds.flip, print, epochs_wanted=epochs)
    rng = np.random.default_rng(7)
    reps = x_train[rng.choice(len(x_train), 256, replace=False)]
    path = out / "mobilenetv2.tflite"
    path.write_bytes(to_int8_tflite(model, (reps[i:i + 1] for i in range(len(reps)))))
    compiled = compile_model(path, patch="auto")
    cdir = write_output(compiled, out / "mobilenetv2-compiled")
    q = compiled.graph.tensors[compiled.graph.inputs[0]].quant
    test_q = _quantize(x_test, q.scale, q.zero_point)
    check = verify_target(compiled, cdir, random_inputs(compiled.graph, 10, 0), "host")
    batch_out = run_batch(compiled, cdir, "host", [[test_q[i:i + 1]] for i in range(len(test_q))])
    pred = np.array([int(np.argmax(o[0])) for o in batch_out.outputs])
    return {"arch": arch.key, "int8_test_accuracy_c": float((pred == ds.y_test).mean()), "epochs": epochs,
            "arena_bytes": compiled.plan.arena_bytes, "flash_bytes": compiled.plan.flash_bytes,
            "macs": sum(x.macs for x in compiled.layers), "bit_exact": check.summary()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-minutes", type=float, default=60.0)
    ap.add_argument("--sram-kb", type=float, default=64)
    ap.add_argument("--flash-kb", type=float, default=256)
    ap.add_argument("-o", "--output", default=str(ROOT / "runs" / "bench-nas"))
    args = ap.parse_args()
    out = Path(args.output)
    started = time.monotonic()
    cfg = NasConfig("fashion-mnist", out, int(args.sram_kb * 1024), int(args.flash_kb * 1024),
                    budget_minutes=args.budget_minutes)
    nas = run_nas(cfg)
    nas_minutes = (time.monotonic() - started) / 60
    ds = load_dataset("fashion-mnist")
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    baseline_arch = largest_fitting_mobilenetv2(space, cfg.limits)
    baseline = train_and_score(baseline_arch, ds, max(nas["finetune_epochs"], 1), cfg.batch, out)
    rows = [
        "| model | int8 test accuracy (generated C) | arena (B) | flash (B) | MACs | training |",
        "|---|---:|---:|---:|---:|---|",
        f"| TinyNAS `{nas['arch'].replace('|', '/')}` | {nas['int8_test_accuracy_c']:.4f} | {nas['arena_bytes']:,} | "
        f"{nas['flash_bytes']:,} | {nas['macs']:,} | supernet + {nas['finetune_epochs']} fine-tune epochs |",
        f"| MobileNetV2 scaled `{baseline['arch'].replace('|', '/')}` | {baseline['int8_test_accuracy_c']:.4f} | "
        f"{baseline['arena_bytes']:,} | {baseline['flash_bytes']:,} | {baseline['macs']:,} | "
        f"{baseline['epochs']} epochs from scratch |",
    ]
    text = (f"# TinyNAS on Fashion-MNIST, SRAM {args.sram_kb:g} KiB, flash {args.flash_kb:g} KiB "
            f"(bench/nas.py)\n\nBudget {args.budget_minutes:g} min; the NAS run took {nas_minutes:.1f} min "
            "including the final verification and the 10,000-image C evaluation.\n\n" + "\n".join(rows) + "\n")
    (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "results" / "nas.md").write_text(text)
    (ROOT / "bench" / "results" / "nas.json").write_text(json.dumps({"nas": nas, "baseline": baseline}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
