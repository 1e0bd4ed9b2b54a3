"""How much model the time budget can train.

MCUNet picks the sub-space whose fitting models have the most MACs, which assumes
enough training to use them. Under a wall-clock budget on a CPU, a model too big
to train for a reasonable number of epochs ends up less accurate than a smaller
one trained well. So unless the user gives a MAC limit, `tinyml nas` measures
this machine's training throughput once (MACs x images per second, on a sampled
model of the space) and limits candidates to the MACs that the fine-tuning share
of the budget can train for MIN_EPOCHS epochs over the training set. Throughput
grows with model size (fixed per-layer overheads), so the estimate, taken on a
small model, errs towards smaller models."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .cost import arch_cost
from .data import resize
from .space import SearchSpace, build_keras

MIN_EPOCHS = 10


@dataclass(frozen=True)
class Throughput:
    macs: int                 # MACs per inference of the model timed
    images_per_second: float

    @property
    def mac_images_per_second(self) -> float:
        return self.macs * self.images_per_second


def measure_throughput(space: SearchSpace, x: np.ndarray, y: np.ndarray, batch: int, seed: int,
                       steps: int = 12) -> Throughput:
    """Training steps per second of a sampled model (mid width, first resolution), after warm-up."""
    import tensorflow as tf

    width = space.widths[len(space.widths) // 2]
    arch = space.sample(np.random.default_rng([seed, 5]), width, space.resolutions[0])
    model = build_keras(arch)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    xb = resize(x[:batch], *arch.input_shape[:2])
    yb = y[:batch]
    for _ in range(3):
        model.train_on_batch(xb, yb)
    started = time.monotonic()
    for _ in range(steps):
        model.train_on_batch(xb, yb)
    return Throughput(arch_cost(arch).macs, steps * batch / (time.monotonic() - started))


def affordable_macs(throughput: Throughput, seconds: float, train_images: int, epochs: int = MIN_EPOCHS) -> int:
    """MACs per inference of a model that trains `epochs` epochs of `train_images` in `seconds`."""
    return int(throughput.mac_images_per_second * seconds / (epochs * max(train_images, 1)))
