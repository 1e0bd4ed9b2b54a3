"""--int8-io (tinyengine/core/interface.py): a float-interface model compiled to take and return int8.

Properties checked:
- the QUANTIZE of the float input and the DEQUANTIZE of the float output are gone, no float
  buffer is planned, and the arena equals that of the same network converted with an int8
  interface (it drops by the float buffers and nothing else);
- the int8 outputs are bit-exact with the interpreter's int8 tensors, under both contracts,
  on the host and in QEMU;
- model.h's helpers convert exactly as the model's own QUANTIZE and DEQUANTIZE do (the
  interpreter's tensors), for values on and between the quantization steps, ties, and values
  far out of range;
- `tinyml compile --int8-io` records it, and `tinyml run` takes the int8 input;
- a float input that no QUANTIZE reads is refused in one line naming it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import require
from helpers import OP_TARGETS
from opmodels import build

from tinyengine.core.errors import TinyMLError
from tinyengine.core.interface import int8_interface
from tinyengine.core.ir import Graph, Op, Quant, Tensor
from tinyengine.driver.oracle import make_oracle
from tinyengine.driver.pipeline import compile_model, write_output
from tinyengine.driver.verify import verify_model


def _net(recipe: dict):
    import tensorflow as tf

    rng = np.random.default_rng(3)
    k1 = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
    k2 = tf.constant(rng.normal(0, 0.3, (1, 1, 8, 4)).astype(np.float32))

    def f(x):
        y = tf.nn.relu(tf.nn.conv2d(x, k1, 2, "SAME"))
        return tf.nn.conv2d(y, k2, 1, "SAME")

    return f


def _model(float_io: bool) -> Path:
    return build("int8io", {}, _net, [(1, 16, 16, 3)], [(-2.0, 2.0)], float_io=float_io)


def test_int8_io_removes_the_float_buffers():
    float_model = _model(True)
    own, int8 = compile_model(float_model), compile_model(float_model, int8_io=True)
    assert [layer.op for layer in own.layers] == ["QUANTIZE", "CONV_2D", "CONV_2D", "DEQUANTIZE"]
    assert [layer.op for layer in int8.layers] == ["CONV_2D", "CONV_2D"]
    g = int8.graph
    assert all(g.tensors[t].dtype == "int8" for t in (*g.inputs, *g.outputs))
    assert not any(g.tensors[b.tensor].dtype == "float32" for b in int8.plan.buffers if b.tensor is not None)
    converted = compile_model(_model(False))          # the converter's own int8 interface
    assert int8.plan.arena_bytes == converted.plan.arena_bytes < own.plan.arena_bytes
    assert int8.int8_io and not own.int8_io and not compile_model(_model(False), int8_io=True).int8_io


@pytest.mark.parametrize("target", OP_TARGETS)
@pytest.mark.parametrize("contract", ["tflm", "litert"])
def test_int8_io_bit_exact(target, contract):
    if target != "host":
        require(shutil.which("qemu-system-arm") is not None, "qemu-system-arm")
    result = verify_model(_model(True), contract, count=4, target=target, int8_io=True)
    assert result.ok and result.layers == 2, result.summary()


def test_model_h_helpers_match_the_models_quantize_and_dequantize(tmp_path):
    """The helpers, compiled with the host's cc, against the interpreter's QUANTIZE output and its
    DEQUANTIZE output for the same values."""
    model = _model(True)
    compiled = compile_model(model, int8_io=True)
    out = write_output(compiled, tmp_path / "m")
    g = compiled.graph
    q_in, q_out = g.tensors[g.inputs[0]].quant, g.tensors[g.outputs[0]].quant
    n = 16 * 16 * 3
    steps = (np.arange(n) - n // 2).astype(np.float32) * np.float32(q_in.scale) / np.float32(4.0)  # on, between, ties
    # far out of range but within int32 steps: TFLM's float-to-int32 cast beyond that is undefined
    # behaviour in C++ (x86 gives INT32_MIN, so -128; an Arm FPU saturates); the helper saturates
    xs = np.concatenate([steps[: n - 6], np.array([1e6, -1e6, 3.0e5, -3.0e5, 0.0, -0.0], np.float32)])
    oracle = make_oracle("tflm", model, 1)
    y_float = oracle.run([xs.reshape(1, 16, 16, 3)])[0].reshape(-1)
    quantized = oracle.tensor(g.inputs[0]).reshape(-1)
    y_int8 = oracle.tensor(g.outputs[0]).reshape(-1)
    src = tmp_path / "helpers.c"
    src.write_text(
        '#include <stdio.h>\n#include "model.h"\n'
        "int main(void) {\n  float x; int q;\n"
        '  while (scanf("%a %d", &x, &q) == 2)\n'
        '    printf("%d %a\\n", tinyml_quantize_input0(x), (double)tinyml_dequantize_output0((int8_t)q));\n'
        "  return 0;\n}\n")
    exe = tmp_path / "helpers"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{out}", str(src), "-lm", "-o", str(exe)],
                   check=True)
    feed = "".join(f"{float(x).hex()} {int(q)}\n" for x, q in zip(xs, np.resize(y_int8, xs.size)))
    lines = subprocess.run([str(exe)], input=feed, capture_output=True, text=True, check=True).stdout.split("\n")
    got_q = np.array([int(line.split()[0]) for line in lines if line], np.int8)
    got_f = np.array([float.fromhex(line.split()[1]) for line in lines if line], np.float32)
    assert np.array_equal(got_q, quantized), np.flatnonzero(got_q != quantized)[:8]
    m = y_int8.size
    assert np.array_equal(got_f[:m], y_float), "dequantize helper differs from the model's DEQUANTIZE"
    assert q_out.zero_point == int(out.joinpath("model.h").read_text().split("TINYML_OUTPUT0_ZERO_POINT (")[1]
                                   .split(")")[0])


def test_cli_compile_and_run_int8_io(tmp_path):
    from tinyengine.cli import main

    out = tmp_path / "m"
    assert main(["compile", str(_model(True)), "-o", str(out), "--int8-io"]) == 0
    import json

    meta = json.loads((out / "meta.json").read_text())
    assert meta["int8_io"] is True and meta["inputs"][0]["dtype"] == "int8"
    x = np.random.default_rng(0).integers(-128, 128, (1, 16, 16, 3), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(out), "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]) == 0
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int8 and y.shape == (1, 8, 8, 4)
    expected = compile_model(_model(True), int8_io=True).oracle().run([x])[0]
    assert np.array_equal(y, expected)


def _float_graph(first_op: str) -> Graph:
    q = Quant((0.1,), (0,))
    tensors = (Tensor(0, "image", (1, 4), "float32"), Tensor(1, "q", (1, 4), "int8", q),
               Tensor(2, "y", (1, 4), "int8", q))
    ops = (Op(0, first_op, (0,), (1,)), Op(1, "RELU", (1,), (2,)))
    return Graph("g", tensors, ops, (0,), (2,))


def test_float_input_without_quantize_is_refused_in_one_line():
    with pytest.raises(TinyMLError) as err:
        int8_interface(_float_graph("RELU"))
    message = str(err.value)
    assert "'image'" in message and "QUANTIZE" in message and "\n" not in message
    graph, interface = int8_interface(_float_graph("QUANTIZE"))
    assert graph.inputs == (1,) and [op.kind for op in graph.ops] == ["RELU"] and graph.ops[0].index == 0
    assert interface.inputs == (0,) and interface.outputs == (2,)


def test_quantize_is_defined_for_nan_and_infinities(tmp_path):
    """The float-to-int8 QUANTIZE kernel on NaN, infinities and values past int32: NaN gives -128
    (as TF-Lite Micro gives on the host it is checked against), the rest saturate. TFLM's own
    cast is undefined past int32 (x86 gives -128 for +inf); within int32 both agree."""
    from tinyengine.driver.targets import dump_layout, run_batch

    compiled = compile_model(_model(True))
    out = write_output(compiled, tmp_path / "m")
    g = compiled.graph
    (q,) = [layer for layer in compiled.layers if layer.op == "QUANTIZE"]
    x = np.random.default_rng(0).uniform(-2, 2, g.tensors[g.inputs[0]].shape).astype(np.float32)
    x.reshape(-1)[:8] = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 3e9, 1e6, -1e6], dtype=np.float32)
    batch = run_batch(compiled, out, "host", [[x]], dump=True)
    offsets, _ = dump_layout(compiled)
    t = g.tensors[q.outputs[0]]
    ours = np.frombuffer(batch.dumps[0], np.int8, t.num_elements, int(offsets[q.index]))
    assert ours[:8].tolist() == [-128, 127, -128, 127, -128, 127, 127, -128]
    oracle = compiled.oracle()
    oracle.run([x])
    ref = oracle.tensor(t.index).reshape(-1)
    assert ref[0] == -128
    assert np.array_equal(ours[6:], ref[6:])
