"""The MCUNet-style search space as data: a MobileNetV2-like backbone (a stem conv,
stages of inverted-residual blocks, global pooling and a classifier), each block
with its own kernel size and expand ratio, each stage its own depth, plus a
global width multiplier and an input resolution. An `Arch` is plain data (JSON
round-trip) and builds into a Keras model."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
# MobileNetV2's stage layout at width 1.0: (output channels, stride of the first block)
BASE_STAGES = ((16, 1), (24, 2), (32, 2), (64, 2), (96, 1), (160, 2))


@dataclass(frozen=True)
class Block:
    kernel: int
    expand: int


@dataclass(frozen=True)
class Stage:
    channels: int
    stride: int
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Arch:
    resolution: int
    width: float
    in_channels: int
    num_classes: int
    stem_channels: int
    stages: tuple[Stage, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Arch:
        d = json.loads(text)
        stages = tuple(Stage(s["channels"], s["stride"], tuple(Block(**b) for b in s["blocks"]))
                       for s in d["stages"])
        return Arch(d["resolution"], d["width"], d["in_channels"], d["num_classes"], d["stem_channels"], stages)


def scaled(channels: int, width: float) -> int:
    """Channels times the width multiplier, rounded to a multiple of 8 (at least 8), as in MobileNetV2."""
    c = max(8, int(channels * width + 4) // 8 * 8)
    return c if c >= 0.9 * channels * width else c + 8


def mobilenetv2_like(resolution: int = 96, width: float = 0.35, in_channels: int = 3, num_classes: int = 2,
                     depths: tuple[int, ...] = (1, 2, 3, 4, 3, 3), kernel: int = 3, expand: int = 6) -> Arch:
    """MobileNetV2's own layout (first stage expand 1), scaled by width and resolution."""
    stages = []
    for i, ((c, s), d) in enumerate(zip(BASE_STAGES, depths)):
        stages.append(Stage(scaled(c, width), s, tuple(Block(kernel, 1 if i == 0 else expand) for _ in range(d))))
    return Arch(resolution, width, in_channels, num_classes, scaled(32, width), tuple(stages))


def build_keras(arch: Arch):
    """The Keras model (float) of an architecture: ReLU6 everywhere, 'same' padding, residual adds
    where a block keeps its shape."""
    import tensorflow as tf

    layers = tf.keras.layers
    inp = tf.keras.Input((arch.resolution, arch.resolution, arch.in_channels))
    x = layers.Conv2D(arch.stem_channels, 3, strides=2, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    c = arch.stem_channels
    for stage in arch.stages:
        for i, block in enumerate(stage.blocks):
            stride = stage.stride if i == 0 else 1
            y = x
            if block.expand != 1:
                y = layers.Conv2D(c * block.expand, 1, use_bias=False)(y)
                y = layers.BatchNormalization()(y)
                y = layers.ReLU(6.0)(y)
            y = layers.DepthwiseConv2D(block.kernel, strides=stride, padding="same", use_bias=False)(y)
            y = layers.BatchNormalization()(y)
            y = layers.ReLU(6.0)(y)
            y = layers.Conv2D(stage.channels, 1, use_bias=False)(y)
            y = layers.BatchNormalization()(y)
            x = layers.Add()([x, y]) if stride == 1 and c == stage.channels else y
            c = stage.channels
    x = layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(arch.num_classes)(x)
    return tf.keras.Model(inp, out)


def to_int8_tflite(model, representative) -> bytes:
    """Full-integer (int8 in, int8 out) TFLite conversion with a representative dataset
    (an iterable of float32 input batches)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def gen():
        for x in representative:
            yield [x]
    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()
