"""Bounds by construction (tinyengine/core/bounds.py): every kernel call's extents, from its
parameters, against its planned buffers. A plan the compiler makes passes (the whole suite
compiles through the check); a layer whose parameters were made to reach past its buffer is an
internal error naming the layer, the kernel, the bytes and the buffer."""

from __future__ import annotations

import dataclasses

import pytest
from test_validate import _base

from tinyengine.core.bounds import check_bounds, extents
from tinyengine.core.errors import TinyMLError
from tinyengine.core.params import TransposeParams
from tinyengine.core.passes import plan_model


def test_a_compiled_plan_passes_and_a_stretched_layer_fails():
    graph, _ = _base()
    sched = plan_model(graph)
    check_bounds(graph, sched.layers, sched.plan)
    layers = list(sched.layers)
    fc = next(i for i, layer in enumerate(layers) if layer.op == "FULLY_CONNECTED")
    layers[fc] = dataclasses.replace(layers[fc], params=dataclasses.replace(layers[fc].params, batches=2))
    with pytest.raises(TinyMLError) as err:
        check_bounds(graph, layers, sched.plan)
    msg = str(err.value)
    assert msg.startswith("internal error: layer 2 FULLY_CONNECTED") and "of 'flat', whose buffer holds 96" in msg


def test_strided_copy_extent_with_negative_strides():
    """STRIDED_SLICE with a negative step starts at in_offset and walks down."""
    p = TransposeParams(out_shape=(1, 1, 1, 1, 2, 3), in_strides=(0, 0, 0, 0, 10, -1), element_size=1, in_offset=12)

    class L:
        params = p
        variant = "reference"

    assert extents(L())[0] == [(10, 23)]
