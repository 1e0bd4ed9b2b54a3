"""TF-Lite Micro's example models, rebuilt: the architectures of TFLM's example training
scripts (hello_world, micro_speech's tiny_conv, magic_wand, person_detection's MobileNet v1
0.25 on a 96x96 grey image, the MNIST LSTM), with random weights, converted with full integer
quantization. The trained files are not on this machine (no network); the ops, shapes and
quantization structure are what matters for the compiler. TFLM's SVDF keyword model is covered
by tests/test_ops_svdf.py (the converter emits no SVDF).

Property checked: each compiles and is bit-exact with TFLM (and LiteRT where its arithmetic is
reproduced: all but the LSTM) on the host and in QEMU."""

from __future__ import annotations

import pytest
from helpers import assert_bit_exact
from opmodels import build_keras


def _hello_world(r):
    import tf_keras as keras

    inp = keras.Input((1,), batch_size=1)
    x = keras.layers.Dense(16, activation="relu")(inp)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inp, keras.layers.Dense(1)(x))


def _micro_speech(r):
    import tf_keras as keras

    inp = keras.Input((49, 40, 1), batch_size=1)
    x = keras.layers.Conv2D(8, (10, 8), strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Flatten()(x)
    return keras.Model(inp, keras.layers.Dense(4, activation="softmax")(x))


def _magic_wand(r):
    import tf_keras as keras

    inp = keras.Input((128, 3, 1), batch_size=1)
    x = keras.layers.Conv2D(8, (4, 3), padding="same", activation="relu")(inp)
    x = keras.layers.MaxPool2D((3, 3))(x)
    x = keras.layers.Conv2D(16, (4, 1), padding="same", activation="relu")(x)
    x = keras.layers.MaxPool2D((3, 1), padding="same")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inp, keras.layers.Dense(4, activation="softmax")(x))


def _person_detection(r):
    """MobileNet v1 0.25 with TFLM's head (average pool, a 1x1 conv to 2 classes, softmax). He
    initialisation keeps the untrained activations from vanishing over 27 layers (they would
    quantize to a scale of 1e-8, where TFLM's SOFTMAX aborts)."""
    import tf_keras as keras

    dw_init = keras.initializers.RandomNormal(stddev=(2 / 9) ** 0.5)   # he_normal's fan-in for one channel
    inp = keras.Input((96, 96, 1), batch_size=1)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", kernel_initializer="he_normal")(inp)
    x = keras.layers.ReLU(6.0)(x)
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1), (128, 1),
                            (128, 1), (128, 1), (256, 2), (256, 1)):
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="same", depthwise_initializer=dw_init)(x)
        x = keras.layers.ReLU(6.0)(x)
        x = keras.layers.Conv2D(filters, 1, kernel_initializer="he_normal")(x)
        x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.Conv2D(2, 1)(keras.layers.AveragePooling2D(3)(x))
    return keras.Model(inp, keras.layers.Softmax()(keras.layers.Reshape((2,))(x)))


def _mnist_lstm(r):
    import tf_keras as keras

    inp = keras.Input((28, 28), batch_size=1)
    x = keras.layers.LSTM(20, return_sequences=True)(inp)
    x = keras.layers.Flatten()(x)
    return keras.Model(inp, keras.layers.Dense(10, activation="softmax")(x))


EXAMPLES = {
    "hello_world": (_hello_world, (1, 1), (0.0, 6.3)),
    "micro_speech": (_micro_speech, (1, 49, 40, 1), (0.0, 1.0)),
    "magic_wand": (_magic_wand, (1, 128, 3, 1), (-2.0, 2.0)),
    "person_detection": (_person_detection, (1, 96, 96, 1), (-1.0, 1.0)),
    "mnist_lstm": (_mnist_lstm, (1, 28, 28), (0.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_tflm_example_bit_exact(name):
    factory, shape, rng = EXAMPLES[name]
    model = build_keras(f"tflm-{name}", {"v": 3}, factory, [shape], [rng])
    assert_bit_exact(model, count=4, contracts=("tflm", "litert"))
