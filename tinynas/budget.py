"""How much model the time budget can train.

MCUNet picks the sub-space whose fitting models have the most MACs, which assumes
enough training to use them. Under a wall-clock budget on a CPU, a model too big
to train for a reasonable number of epochs ends up less accurate than a smaller
one trained well. So unless the user gives a MAC limit, `tinyml nas` measures
this machine's training throughput once and limits candidates to the MACs that
the fine-tuning share of the budget can train for MIN_EPOCHS epochs over the
training set.

The throughput is timed the way fine-tuning trains (`model.fit`, same batch size)
on a sampled model at the middle width and the largest resolution of the space.
MACs x images per second is only a rough constant of the machine (lower at high
resolution, and it varies from one timing to the next), so the fine-tuning then fits
as many epochs as the deadline allows for the model actually chosen."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .cost import arch_cost
from .data import resize
from .space import SearchSpace, build_keras

MIN_EPOCHS = 10
TIMED_BATCHES = 24


@dataclass(frozen=True)
class Throughput:
    macs: int                 # MACs per inference of the model timed
    images_per_second: float

    @property
    def mac_images_per_second(self) -> float:
        return self.macs * self.images_per_second


def measure_throughput(space: SearchSpace, x: np.ndarray, y: np.ndarray, batch: int, seed: int,
                       batches: int = TIMED_BATCHES) -> Throughput:
    """Images per second that `model.fit` trains a sampled model of the middle width and the
    largest resolution, after a warm-up fit that traces the training function."""
    import tensorflow as tf

    arch = space.sample(np.random.default_rng([seed, 5]), space.widths[len(space.widths) // 2],
                        max(space.resolutions))
    model = build_keras(arch)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    n = min(len(x), batch * batches)
    xb = resize(x[:n], *arch.input_shape[:2])
    yb = y[:n]
    model.fit(xb[:4 * batch], yb[:4 * batch], batch_size=batch, epochs=1, verbose=0)
    started = time.monotonic()
    model.fit(xb, yb, batch_size=batch, epochs=1, verbose=0, shuffle=True)
    return Throughput(arch_cost(arch).macs, n / (time.monotonic() - started))


def affordable_macs(throughput: Throughput, seconds: float, train_images: int, epochs: int = MIN_EPOCHS) -> int:
    """MACs per inference of a model that trains `epochs` epochs of `train_images` in `seconds`."""
    return int(throughput.mac_images_per_second * seconds / (epochs * max(train_images, 1)))
