"""Build small single-op int8 .tflite models with TensorFlow for the op tests.

Each model is a tf.function over float inputs, converted with full integer
quantization (int8 inputs/outputs unless asked otherwise) from a random
representative dataset. Models are cached on disk by a hash of their recipe,
so a test run converts each distinct model once."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("TINYML_TEST_CACHE", Path(__file__).resolve().parent.parent / ".cache" / "opmodels"))


def _cache_path(name: str, parts: list) -> tuple[Path, str]:
    """The cached model's path for these recipe parts, and its key."""
    key = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return CACHE / f"{name}-{key}.tflite", key


def _tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def build(name: str, recipe: dict, fn_factory: Callable[[dict], Callable], input_shapes: list[tuple[int, ...]],
          input_ranges: list[tuple[float, float]] | None = None, float_io: bool = False) -> Path:
    """Return the path of the converted model for `recipe`, converting it if not cached."""
    path, key = _cache_path(name, [name, recipe, input_shapes, input_ranges, float_io])
    if path.exists():
        return path
    tf = _tensorflow()
    ranges = input_ranges or [(-1.0, 1.0)] * len(input_shapes)
    fn = fn_factory(recipe)
    specs = [tf.TensorSpec(s, tf.float32) for s in input_shapes]
    module = tf.Module()
    module.f = tf.function(fn, input_signature=specs)
    concrete = module.f.get_concrete_function()
    return _convert(tf.lite.TFLiteConverter.from_concrete_functions([concrete], module), path, key, input_shapes,
                    ranges, float_io)


def build_keras(name: str, recipe: dict, model_factory: Callable[[dict], object],
                input_shapes: list[tuple[int, ...]], input_ranges: list[tuple[float, float]] | None = None) -> Path:
    """Like `build`, for a tf_keras (Keras 2) model: the converter fuses Keras 2 recurrent layers
    into single TFLite ops (an LSTM layer becomes UNIDIRECTIONAL_SEQUENCE_LSTM); Keras 3 lowers
    them to a WHILE loop instead."""
    path, key = _cache_path(name, ["keras", name, recipe, input_shapes, input_ranges])
    if path.exists():
        return path
    tf = _tensorflow()
    ranges = input_ranges or [(-1.0, 1.0)] * len(input_shapes)
    model = model_factory(recipe)
    return _convert(tf.lite.TFLiteConverter.from_keras_model(model), path, key, input_shapes, ranges, False)


def _convert(converter, path: Path, key: str, input_shapes: list[tuple[int, ...]],
             ranges: list[tuple[float, float]], float_io: bool) -> Path:
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    seed = int(key[:8], 16)

    def representative():
        rng = np.random.default_rng(seed)
        for _ in range(24):
            yield [rng.uniform(lo, hi, size=s).astype(np.float32) for s, (lo, hi) in zip(input_shapes, ranges)]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    data = converter.convert()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
