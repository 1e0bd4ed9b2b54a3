"""Supernet step time (not a test): what weight slicing saves.

    .venv/bin/python bench/supernet_step.py [--width 0.25] [--resolution 48] [--steps 20]

Times, side by side in one process, a sandwich step (largest, smallest and a random
sub-network, as the search trains) and a step of three largest networks, which is
what the sandwich cost when every sub-network ran the full network under masks.
Prints milliseconds per step and their ratio; on a shared machine only the ratio
means much."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from tinynas.space import SearchSpace  # noqa: E402
from tinynas.supernet import SuperNet  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--resolution", type=int, default=48)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    space = SearchSpace(1, 10)
    w, r = args.width, args.resolution
    net = SuperNet(space, w, r, 0)
    net.compile()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, r, r, 1)).astype(np.float32)
    y = rng.integers(0, 10, args.batch).astype(np.int32)
    kinds = {
        "sandwich (largest, smallest, random)": lambda: [space.largest(w, r), space.smallest(w, r),
                                                         space.sample(rng, w, r)],
        "three largest (the masked cost)": lambda: [space.largest(w, r)] * 3,
    }
    times = {k: [] for k in kinds}
    for archs in kinds.values():          # trace and warm up
        for _ in range(3):
            net.train_step(x, y, archs())
    for _ in range(args.steps):           # interleaved, so machine load affects both alike
        for name, archs in kinds.items():
            a = archs()
            t = time.perf_counter()
            net.train_step(x, y, a)
            times[name].append(time.perf_counter() - t)
    ms = {k: 1000 * float(np.median(v)) for k, v in times.items()}
    print(f"supernet w{w:g} r{r}, batch {args.batch}, median of {args.steps} steps each")
    for k, v in ms.items():
        print(f"  {k:40s} {v:8.0f} ms/step")
    sandwich, full = ms.values()
    print(f"  sliced sandwich steps per masked step: {full / sandwich:.2f}x")


if __name__ == "__main__":
    main()
