"""MobileNetV2 scaled by width and resolution: the TinyNAS benchmark's baseline (not a test).

    .venv/bin/python bench/mobilenetv2.py --epochs 11 [--sram-kb 64] [--flash-kb 256] [--max-mmacs 6.09]
    .venv/bin/python bench/mobilenetv2.py --epochs 11 --arch 'r48-w0.25-s1-31|33,53|53,36|34,56,54|76,74,54,73'
    .venv/bin/python bench/mobilenetv2.py --epochs 12 --seed 1     # another draw of the same training

Picks the scaled MobileNetV2 (kernel 3, expand 6, stage depths 1-2-3-4-3 of the search space's
stages) with the most MACs among those whose exact cost (the engine's schedule) fits the memory
limits and, when given, the MAC limit; trains it from scratch for the given epochs with the
fine-tuning's optimiser and schedule; quantizes it to int8, compiles it, verifies it against
TF-Lite Micro and scores the generated C on the whole Fashion-MNIST test set. Prints the result
and writes it to -o (JSON). bench/nas.py trains the memory-only one after every search.

With --arch, it trains that architecture of the search space (a key as reports print it, e.g. a
NAS run's chosen model) the same way instead: from scratch, without the supernet's weights."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tinynas.cost import arch_cost  # noqa: E402
from tinynas.finish import finetune, recalibrate_bn  # noqa: E402
from tinynas.fitness import calibration_batches  # noqa: E402
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


def train_and_score(arch: Arch, ds, epochs: int, batch: int, out: Path, name: str = "mobilenetv2",
                    seed: int = 0) -> dict:
    """Train `arch` from fresh weights (initialised, shuffled and flipped from `seed`), then quantize,
    compile, verify and score it as `tinyml nas` does its chosen model."""
    import tensorflow as tf

    x_train = ds.at(ds.x_train, arch.resolution)
    tf.keras.utils.set_random_seed(seed)
    model = build_keras(arch)
    finetune(model, x_train, ds.y_train, batch, seed, ds.flip, print, epochs_wanted=epochs)
    recalibrate_bn(model, np.concatenate(calibration_batches(x_train)))   # as tinyml nas's finish does
    rng = np.random.default_rng(7)
    reps = x_train[rng.choice(len(x_train), 256, replace=False)]
    path = out / f"{name}.tflite"
    path.write_bytes(to_int8_tflite(model, (reps[i:i + 1] for i in range(len(reps)))))
    return {**score_tflite(path, arch, ds, out / f"{name}-compiled"), "epochs": epochs, "seed": seed}


def score_tflite(path: Path, arch: Arch, ds, compiled_dir: Path) -> dict:
    """Compile the int8 model, verify it on the host against TF-Lite Micro, and score the generated
    C on the whole test set."""
    from tinyengine.driver.pipeline import compile_model, write_output
    from tinyengine.driver.targets import run_batch
    from tinyengine.driver.verify import random_inputs, verify_target
    from tinynas.finish import _quantize

    compiled = compile_model(path, patch="auto")
    cdir = write_output(compiled, compiled_dir)
    q = compiled.graph.tensors[compiled.graph.inputs[0]].quant
    test_q = _quantize(ds.at(ds.x_test, arch.resolution), q.scale, q.zero_point)
    check = verify_target(compiled, cdir, random_inputs(compiled.graph, 10, 0), "host")
    batch_out = run_batch(compiled, cdir, "host", [[test_q[i:i + 1]] for i in range(len(test_q))])
    pred = np.array([int(np.argmax(o[0])) for o in batch_out.outputs])
    return {"arch": arch.key, "int8_test_accuracy_c": float((pred == ds.y_test).mean()),
            "arena_bytes": compiled.plan.arena_bytes, "flash_bytes": compiled.plan.flash_bytes,
            "macs": sum(x.macs for x in compiled.layers), "bit_exact": check.summary()}


def main() -> int:
    from tinynas.data import load_dataset
    from tinynas.nas import NasConfig

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, required=True, help="training epochs (a NAS run's fine-tune epochs)")
    ap.add_argument("--sram-kb", type=float, default=64, help="limit on the planned arena, KiB (default 64)")
    ap.add_argument("--flash-kb", type=float, default=256, help="limit on the flash, KiB (default 256)")
    ap.add_argument("--max-mmacs", type=float, default=None, help="limit on the MACs, millions (default none)")
    ap.add_argument("--arch", default=None, help="train this architecture key instead of the MobileNetV2")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0,
                    help="seed of the initial weights, the shuffling and the flips (default 0)")
    ap.add_argument("-o", "--output", default=str(ROOT / "runs" / "bench-mobilenetv2"))
    args = ap.parse_args()
    out = Path(args.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("fashion-mnist")
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    limits = NasConfig("fashion-mnist", out, int(args.sram_kb * 1024), int(args.flash_kb * 1024),
                       max_macs=None if args.max_mmacs is None else int(args.max_mmacs * 1e6)).limits
    name = ("scratch" if args.arch else "mobilenetv2") + (f"-seed{args.seed}" if args.seed else "")
    arch = space.from_key(args.arch) if args.arch else largest_fitting_mobilenetv2(space, limits)
    cost = arch_cost(arch)
    if not limits.ok(cost):
        raise SystemExit(f"{arch.key}: {cost.sram_bytes:,} B arena, {cost.flash_bytes:,} B flash, {cost.macs:,} MACs "
                         f"is over the limits: {limits.sram_bytes:,} B arena (SRAM less stack), "
                         f"{limits.flash_bytes:,} B flash, MACs {limits.max_macs or 'unlimited'}")
    print(f"{name} {arch.key}: {cost.macs:,} MACs, {args.epochs} epochs", flush=True)
    result = {"limits": {"sram_kb": args.sram_kb, "flash_kb": args.flash_kb, "max_mmacs": args.max_mmacs},
              **train_and_score(arch, ds, args.epochs, args.batch, out, name, args.seed)}
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
