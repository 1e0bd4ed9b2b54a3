"""Datasets for the search, all offline: images as float32 [N, H, W, C] in [-1, 1]
(resized to the candidate's resolution on demand), integer labels, a held-out
validation split carved from the training set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyengine.datasets import fashion_mnist
from tinyengine.errors import TinyMLError

DATASETS = ("fashion-mnist",)


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray   # float32 [N, H, W, C], in [-1, 1]
    y_train: np.ndarray   # int32 [N]
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def channels(self) -> int:
        return self.x_train.shape[3]

    @property
    def native_resolution(self) -> int:
        return self.x_train.shape[1]


def load_dataset(name: str, val_size: int = 5000, seed: int = 0, limit: int | None = None) -> Dataset:
    """`limit` keeps only that many training images (quick runs); the test set is always whole."""
    if name != "fashion-mnist":
        raise TinyMLError(f"unknown dataset '{name}'; available: {', '.join(DATASETS)}")
    xtr, ytr = fashion_mnist("train")
    xte, yte = fashion_mnist("test")

    def prep(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / 127.5 - 1.0)[..., None]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(xtr))
    val, train = order[:val_size], order[val_size:]
    if limit is not None:
        train = train[:limit]
    return Dataset(name, prep(xtr[train]), ytr[train].astype(np.int32), prep(xtr[val]), ytr[val].astype(np.int32),
                   prep(xte), yte.astype(np.int32), 10)


def resize(x: np.ndarray, resolution: int) -> np.ndarray:
    """Bilinear resize of a float image batch (identity at the native size)."""
    if x.shape[1] == resolution:
        return x
    import tensorflow as tf

    out = []
    for i in range(0, len(x), 4096):
        out.append(tf.image.resize(x[i:i + 4096], (resolution, resolution), method="bilinear").numpy())
    return np.concatenate(out).astype(np.float32)
