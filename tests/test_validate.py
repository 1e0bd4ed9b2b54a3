"""The model validator (tinyengine/core/validate.py): one hand-made graph per rule, each breaking
exactly that rule, gives exactly its one-line message naming the op or tensor; the valid graph
passes; and through the CLI a broken model exits 2 with that line and writes nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_passes import Builder

from tinyengine.core.errors import MalformedModelError
from tinyengine.core.ir import Graph, Quant
from tinyengine.core.validate import validate


def _base() -> tuple[Graph, dict[str, int]]:
    """x [1,8,8,4] -> CONV_2D 3x3 s2 -> [1,4,4,6] -> RESHAPE [1,96] -> FULLY_CONNECTED 5 -> SOFTMAX."""
    b = Builder()
    x = b.act((1, 8, 8, 4), "x")
    c = b.conv(x, 6, 3, 2, "conv")
    r = b.act((1, 96), "flat")
    b.op("RESHAPE", [c], [r])
    f = b.fc(r, 5, "fc")
    s = b.act((1, 5), "probs", zero_point=-128, scale=1 / 256)
    b.op("SOFTMAX", [f], [s], beta=1.0)
    return b.graph((x,), (s,)), {"x": x, "conv": c, "flat": r, "fc": f, "probs": s}


def _with_tensor(g: Graph, t: int, **changes) -> Graph:
    tensors = list(g.tensors)
    tensors[t] = dataclasses.replace(tensors[t], **changes)
    return dataclasses.replace(g, tensors=tuple(tensors))


def _with_op(g: Graph, i: int, **changes) -> Graph:
    ops = list(g.ops)
    ops[i] = dataclasses.replace(ops[i], **changes)
    return dataclasses.replace(g, ops=tuple(ops))


def _message(g: Graph) -> str:
    with pytest.raises(MalformedModelError) as err:
        validate(g)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_the_valid_graph_passes():
    validate(_base()[0])


def test_subgraph_index_out_of_range():
    g, _ = _base()
    assert _message(dataclasses.replace(g, outputs=(99,))) == \
        "'hand': subgraph output 99 is not a tensor (the model has 9)"


def test_rank_above_the_limit():
    g, t = _base()
    msg = _message(_with_tensor(g, t["flat"], shape=(1, 1, 1, 1, 1, 1, 1, 96)))
    assert msg == "'hand': tensor 'flat' has rank 8; at most 6 dimensions are supported"


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 0.0, -0.0, -0.5])
def test_scale_finite_and_positive(scale):
    g, t = _base()
    msg = _message(_with_tensor(g, t["conv"], quant=Quant((scale,), (0,))))
    assert msg == f"'hand': tensor 'conv' has quantization scale {scale}; scales must be finite and > 0"


def test_one_zero_point_per_scale():
    g, t = _base()
    assert _message(_with_tensor(g, t["conv"], quant=Quant((0.1, 0.2), (0,)))) == \
        "'hand': tensor 'conv' has 2 scales but 1 zero points"


def test_zero_point_in_range():
    g, t = _base()
    assert _message(_with_tensor(g, t["x"], quant=Quant((0.1,), (128,)))) == \
        "'hand': tensor 'x' (int8) has zero point 128, outside [-128, 127]"


def test_per_channel_axis_and_count():
    g, _ = _base()
    w = 1   # the conv's weights, [6,3,3,4], 6 scales on axis 0
    assert _message(_with_tensor(g, w, quant=Quant((0.01,) * 6, (0,) * 6, 4))) == \
        "'hand': tensor 'conv/w' is quantized per channel on axis 4, which its shape [6, 3, 3, 4] does not have"
    assert _message(_with_tensor(g, w, quant=Quant((0.01,) * 4, (0,) * 4, 0))) == \
        "'hand': tensor 'conv/w' has 4 scales for 6 channels (axis 0 of [6, 3, 3, 4])"


def test_interface_tensors_are_activations():
    g, _ = _base()
    assert _message(dataclasses.replace(g, inputs=(1,))) == \
        "'hand': subgraph input 'conv/w' is a constant tensor, not an activation"
    assert _message(dataclasses.replace(g, outputs=(g.outputs[0], g.outputs[0]))) == \
        "'hand': a tensor is listed twice as a subgraph output"


def test_every_output_is_produced():
    g, t = _base()
    orphan = dataclasses.replace(g.tensors[t["probs"]], index=9, name="orphan")
    extra = dataclasses.replace(g, tensors=g.tensors + (orphan,), outputs=(t["probs"], 9))
    assert _message(extra) == "'hand': subgraph output 'orphan' is produced by no op"


def test_op_needs_an_output_and_its_inputs():
    g, _ = _base()
    assert _message(_with_op(g, 1, outputs=())) == "RESHAPE #1 (output '?'): has no output"
    assert _message(_with_op(g, 0, inputs=(0,))) == \
        "CONV_2D #0 (output 'conv'): has 1 inputs; CONV_2D needs at least 2"
    # a fixed-arity op with one input too many (found by the fuzzer: an ADD reading three tensors)
    fc = g.ops[3].inputs[0]
    assert _message(_with_op(g, 3, inputs=(fc, fc))) == "SOFTMAX #3 (output 'probs'): has 2 inputs; SOFTMAX takes 1"


def test_no_op_writes_what_it_reads_or_a_constant():
    g, t = _base()
    assert _message(_with_op(g, 1, outputs=(t["conv"],))) == \
        "RESHAPE #1 (output 'conv'): writes 'conv', which it also reads"
    assert _message(_with_op(g, 1, outputs=(1,))) == "RESHAPE #1 (output 'conv/w'): writes 'conv/w', a constant tensor"
    assert _message(_with_op(g, 1, outputs=(t["x"],))) == "RESHAPE #1 (output 'x'): writes 'x', a subgraph input"


def test_ops_in_order():
    g, _ = _base()
    swapped = dataclasses.replace(g, ops=(g.ops[1], g.ops[0]) + g.ops[2:])
    assert _message(swapped) == ("RESHAPE #1 (output 'flat'): reads 'conv' before any op produces it (the ops are "
                                 "out of order or form a cycle, or the tensor is never written)")


def test_declared_output_shapes():
    g, t = _base()
    assert _message(_with_tensor(g, t["conv"], shape=(1, 5, 4, 6))) == \
        "CONV_2D #0 (output 'conv'): output 'conv' has shape [1, 5, 4, 6]; CONV_2D of its inputs gives [1, 4, 4, 6]"
    assert _message(_with_tensor(g, t["fc"], shape=(2, 5))) == \
        "FULLY_CONNECTED #2 (output 'fc'): output 'fc' has shape [2, 5]; 1 batches x 5 units need 5 values"
    assert _message(_with_tensor(g, t["probs"], shape=(1, 6))) == \
        "SOFTMAX #3 (output 'probs'): output 'probs' has shape [1, 6]; SOFTMAX of its inputs gives [1, 5]"
    assert _message(_with_tensor(g, t["flat"], shape=(1, 95))) == \
        "RESHAPE #1 (output 'flat'): reshapes [1, 4, 4, 6] (96 values) to [1, 95] (95)"
    assert _message(_with_op(g, 0, options={**g.ops[0].options, "strideH": 0})) == \
        "CONV_2D #0 (output 'conv'): stride 0x2 and dilation 1x1 must be at least 1"


def test_broadcast_shapes():
    b = Builder()
    x, z = b.act((1, 4, 4, 3), "x"), b.act((1, 4, 1, 2), "z")
    y = b.act((1, 4, 4, 3), "y")
    b.op("ADD", [x, z], [y], fusedActivationFunction=0)
    assert _message(b.graph((x, z), (y,))) == "ADD #0 (output 'y'): cannot broadcast [1, 4, 4, 3] with [1, 4, 1, 2]"


def test_a_broken_model_on_the_cli_exits_2_with_one_line(tmp_path):
    """A converted model whose FULLY_CONNECTED output shape was edited: before the validator the
    generated code wrote past its buffer; now a one-line error, exit 2, no output directory."""
    import flatbuffers
    from test_bad_input import assert_clean_failure
    from test_int8_io import _model
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(_model(False).read_bytes(), 0))
    sg = model.subgraphs[0]
    out = sg.tensors[sg.outputs[0]]
    out.shape = np.array([int(d) for d in out.shape[:-1]] + [int(out.shape[-1]) + 3], dtype=np.int32)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "edited.tflite"
    path.write_bytes(builder.Output())
    assert_clean_failure(tmp_path, path, "output", "shape")
