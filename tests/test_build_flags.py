"""codegen/build.py's -D flags: which kernel steps a network's build leaves out. The flags may
only drop steps no layer of the network runs (that they never change a result, whatever the
network, is tests/test_kernels_depthwise_inplace.py::test_step_flags_never_change_a_result)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pytest

from codegen.build import INPLACE_DW_FAST, POINTWISE_FAST, build_defines, step_defines
from tinyengine.core.params import Activation, Tile
from tinyengine.driver.pipeline import compile_model

ALWAYS, NEVER, NO_S2, NO_PORTABLE, PW_CLEAN = (
    "-DTINYML_DW_INPLACE_ALWAYS_CLAMP", "-DTINYML_DW_INPLACE_NO_CLAMP", "-DTINYML_DW_INPLACE_NO_S2",
    "-DTINYML_DW_INPLACE_NO_PORTABLE_STEP", "-DTINYML_PW_CLEAN_ONLY")


@functools.cache
def _fast_layers(model: Path) -> tuple:
    return tuple(compile_model(model, patch="off", kernels="fast").layers)


@pytest.fixture
def kws(models_dir):
    return list(_fast_layers(models_dir / "kws_ref_model.tflite"))


def _with(layers, index, **params):
    layer = layers[index]
    return [*layers[:index], dataclasses.replace(layer, params=dataclasses.replace(layer.params, **params)),
            *layers[index + 1:]]


def test_kws_in_place_layers_neither_clamp_nor_stride_2(kws):
    """KWS's four in-place depthwise layers: ReLU with output zero point -128 (no clamp), 3x3
    stride 1; its pointwise layers have C_in = 64."""
    inplace = [layer.index for layer in kws if layer.kernel == INPLACE_DW_FAST]
    assert len(inplace) == 4
    assert build_defines(kws) == ("-DTINYML_ONLY_ROUND_DOUBLE", NEVER, NO_S2, NO_PORTABLE, PW_CLEAN)


def test_clamp_flags_follow_the_in_place_layers(kws):
    inplace = [layer.index for layer in kws if layer.kernel == INPLACE_DW_FAST]
    one = _with(kws, inplace[0], activation=Activation(-100, 127))
    assert step_defines(one) == (NO_S2, NO_PORTABLE, PW_CLEAN)   # mixed: both kinds of steps stay
    every = kws
    for i in inplace:
        every = _with(every, i, activation=Activation(-128, 90))
    assert step_defines(every) == (ALWAYS, NO_S2, NO_PORTABLE, PW_CLEAN)


def test_a_stride_2_layer_keeps_the_stride_2_steps(kws):
    inplace = [layer.index for layer in kws if layer.kernel == INPLACE_DW_FAST]
    assert step_defines(_with(kws, inplace[2], stride=Tile(2, 2))) == (NEVER, NO_PORTABLE, PW_CLEAN)
    # a stride the assembly steps do not take keeps the portable step too
    assert step_defines(_with(kws, inplace[2], stride=Tile(1, 2))) == (NEVER, PW_CLEAN)


def test_other_geometries_keep_the_portable_steps(kws):
    inplace = [layer.index for layer in kws if layer.kernel == INPLACE_DW_FAST]
    five = _with(kws, inplace[1], filter=dataclasses.replace(kws[inplace[1]].params.filter, h=5, w=5))
    assert step_defines(five) == (NEVER, NO_S2, PW_CLEAN)
    dilated = _with(kws, inplace[1], dilation=Tile(2, 2))
    assert step_defines(dilated) == (NEVER, NO_S2, PW_CLEAN)


def test_a_pointwise_layer_off_8_keeps_the_any_channel_loop(kws):
    pointwise = [layer.index for layer in kws if layer.kernel == POINTWISE_FAST]
    assert len(pointwise) == 4
    odd = _with(kws, pointwise[0], input=dataclasses.replace(kws[pointwise[0]].params.input, c=12))
    assert step_defines(odd) == (NEVER, NO_S2, NO_PORTABLE)


def test_no_in_place_layer_no_step_flags(models_dir):
    layers = compile_model(models_dir / "kws_ref_model.tflite", patch="off", kernels="reference").layers
    assert step_defines(layers) == ()
