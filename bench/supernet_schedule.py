"""Supernet training schedules (not a test): how a schedule orders sub-networks.

    .venv/bin/python bench/supernet_schedule.py unlimited 11
    .venv/bin/python bench/supernet_schedule.py largest-first 11 [--fraction 0.4]
    .venv/bin/python bench/supernet_schedule.py sandwich 7 --max-mmacs 6
    .venv/bin/python bench/supernet_schedule.py feasible 7 --max-mmacs 6
    .venv/bin/python bench/supernet_schedule.py feasible 7 --max-mmacs 6 --distill

Trains a supernet of the w0.25 r48 Fashion-MNIST sub-space (the one the 60-minute
benchmark runs chose) for the given minutes with the search's cosine learning rate,
then scores, on all 5,000 validation images after batch-norm recalibration, the
sub-space's MobileNetV2, its largest and smallest networks and 12 random ones, and
prints the correlation of the random ones' accuracy with their MACs.
`unlimited` is the sandwich rule with the random sub-network drawn from the whole
sub-space (the search's schedule up to run D); `largest-first` trains only the largest
network for the first fraction of the time (a crude form of OFA's progressive
shrinking), then that sandwich. `sandwich` and `feasible` are the search's two
`--sampling` choices (`supernet.step_archs`), whose random sub-networks are drawn only
within the MAC limit (what the search can pick; the 60-minute runs' limit was 6 M
MACs, which 15% of this sub-space's random sub-networks meet). With a MAC limit, the
12 random sub-networks scored are drawn within it too. `--distill` trains every sub-network
but the largest on the largest's predictions (in-place distillation, `tinyml nas
--supernet-loss distill`). Also scored: run E's choice, which trained from scratch for 11
epochs is level with the MobileNetV2 (92.52% against 92.70%, bench/results/baselines.md)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from mobilenetv2 import mobilenetv2_for  # noqa: E402

from tinynas.cost import arch_cost  # noqa: E402
from tinynas.data import flip_half, load_dataset  # noqa: E402
from tinynas.fitness import calibration_batches  # noqa: E402
from tinynas.schedule import cosine_decay  # noqa: E402
from tinynas.space import SearchSpace  # noqa: E402
from tinynas.supernet import LEARNING_RATE, SAMPLINGS, SuperNet, step_archs  # noqa: E402

RUN_E = "r48-w0.25-s1-31|33,53|53,36|34,56,54|76,74,54,73"    # the chosen model of bench run E


def main() -> None:
    import tensorflow as tf

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("schedule", choices=("unlimited", "largest-first", "sandwich", "feasible"))
    ap.add_argument("minutes", type=float)
    ap.add_argument("--fraction", type=float, default=0.4, help="largest-first: share of the time on the largest")
    ap.add_argument("--distill", action="store_true", help="in-place distillation from the largest")
    ap.add_argument("--max-mmacs", type=float, default=None,
                    help="MAC limit (millions) for the feasible schedules and the scored random sub-networks")
    args = ap.parse_args()
    limit = int(args.max_mmacs * 1e6) if args.max_mmacs else None
    if args.schedule in SAMPLINGS and limit is None:
        ap.error(f"{args.schedule} needs --max-mmacs")
    tf.keras.utils.set_random_seed(0)
    ds = load_dataset("fashion-mnist", seed=0)
    space = SearchSpace(ds.channels, ds.num_classes, resolutions=ds.resolutions, input_width=ds.input_width)
    w, r = 0.25, 48
    net = SuperNet(space, w, r, 0)
    net.compile(distill=args.distill)
    x, xv = ds.at(ds.x_train, r), ds.at(ds.x_val, r)
    rng = np.random.default_rng([0, 1])
    started, seconds, steps = time.monotonic(), args.minutes * 60, 0
    while time.monotonic() - started < seconds:
        progress = (time.monotonic() - started) / seconds
        idx = rng.integers(0, len(x), 64)
        xb = x[idx]
        flip_half(xb, rng)
        if args.schedule == "largest-first" and progress < args.fraction:
            archs = [space.largest(w, r)] * 3
        elif args.schedule in SAMPLINGS:
            archs = step_archs(space, w, r, args.schedule, limit, rng)
        else:   # unlimited, and largest-first after its fraction: the sandwich over the whole sub-space
            archs = step_archs(space, w, r, "sandwich", None, rng)
        net.train_step(xb, ds.y_train[idx], archs, cosine_decay(progress, LEARNING_RATE))
        steps += 1
    calib = calibration_batches(x)
    pick = np.random.default_rng(99)
    named = [("mobilenetv2", mobilenetv2_for(space, w, r)), ("largest", space.largest(w, r)),
             ("smallest", space.smallest(w, r)), ("run E", space.from_key(RUN_E))]
    named += [(f"random {i}", space.sample_within(pick, w, r, limit)) for i in range(12)]
    print(f"{args.schedule}{' + distill' if args.distill else ''}, {args.minutes:g} min, {steps} steps; "
          f"accuracy on {len(xv):,} validation images"
          + (f"; random sub-networks within {limit:,} MACs" if limit else ""))
    random = []
    for name, arch in named:
        macs = arch_cost(arch).macs
        acc = net.accuracy(arch, net.calibrate(arch, calib), xv, ds.y_val)
        print(f"  {name:12s} {macs:>11,} MACs  {acc:.4f}  {arch.key}", flush=True)
        if name.startswith("random"):
            random.append((macs, acc))
    print(f"correlation of the random sub-networks' accuracy with MACs: {np.corrcoef(*zip(*random))[0, 1]:.2f}")


if __name__ == "__main__":
    main()
