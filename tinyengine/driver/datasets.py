"""Offline datasets shipped by Debian packages (no downloads)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..core.errors import TinyMLError

FASHION_MNIST_DIR = Path(os.environ.get("TINYML_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[:2] != b"\x00\x00":
        raise TinyMLError(f"'{path}' is not an IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels uint8 [N]) from Debian's dataset-fashion-mnist."""
    prefix = "t10k" if split == "test" else "train"
    images = FASHION_MNIST_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels = FASHION_MNIST_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.exists() or not labels.exists():
        raise TinyMLError(f"Fashion-MNIST not found in {FASHION_MNIST_DIR}; install it with "
                          "'apt-get install dataset-fashion-mnist' (or run 'make setup')")
    return _read_idx(images), _read_idx(labels)


def image_like_input(images: np.ndarray, shape: tuple[int, ...], scale: float, zero_point: int,
                     dtype=np.int8) -> np.ndarray:
    """Resize grey images (nearest) to an input tensor shape and quantize them.

    4-d shapes (1,H,W,C) get the image resized to HxW, repeated over C; other shapes
    get the resized image's pixels in raster order. Pixel values map to [0, 1]."""
    img = images.astype(np.float32) / 255.0
    if len(shape) == 4:
        h, w, c = shape[1], shape[2], shape[3]
    else:
        n = int(np.prod(shape))
        h = w = int(np.ceil(np.sqrt(n)))
        c = 1
    ys = (np.arange(h) * img.shape[0] // h).clip(0, img.shape[0] - 1)
    xs = (np.arange(w) * img.shape[1] // w).clip(0, img.shape[1] - 1)
    resized = img[ys][:, xs]
    full = np.repeat(resized[:, :, None], c, axis=2).reshape(-1)[: int(np.prod(shape))]
    q = np.round(full / scale) + zero_point
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype).reshape(shape)
