"""Write small .tflite models directly with the flatbuffer schema, for ops the TensorFlow
converter never emits from a Keras or tf.function model (SVDF).

`Spec` describes one tensor (constant when `data` is given, state when `variable`); `write_model`
packs one subgraph of ops over those tensors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_TYPES = {np.dtype(np.int8): "INT8", np.dtype(np.int16): "INT16", np.dtype(np.int32): "INT32",
          np.dtype(np.float32): "FLOAT32"}


@dataclass(frozen=True)
class Spec:
    name: str
    shape: tuple[int, ...]
    dtype: Any
    scale: float | None = None
    zero_point: int = 0
    data: np.ndarray | None = None
    variable: bool = False


@dataclass(frozen=True)
class OpSpec:
    kind: str                 # a BuiltinOperator name, e.g. "SVDF"
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: str         # a BuiltinOptions name, e.g. "SVDFOptions"
    options: Any              # the matching schema ...OptionsT object
    version: int = 1


def write_model(path: Path, tensors: list[Spec], ops: list[OpSpec], inputs: list[int], outputs: list[int]) -> Path:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    buffers = [schema.BufferT()]
    tts = []
    for spec in tensors:
        t = schema.TensorT()
        t.name, t.shape = spec.name, list(spec.shape)
        t.type = getattr(schema.TensorType, _TYPES[np.dtype(spec.dtype)])
        t.isVariable = spec.variable
        if spec.scale is not None:
            q = schema.QuantizationParametersT()
            q.scale, q.zeroPoint = [float(spec.scale)], [int(spec.zero_point)]
            t.quantization = q
        t.buffer = 0
        if spec.data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(spec.data, dtype=spec.dtype).tobytes(), dtype=np.uint8)
            t.buffer = len(buffers)
            buffers.append(b)
        tts.append(t)
    codes, operators = [], []
    for op in ops:
        code = schema.OperatorCodeT()
        code.builtinCode = getattr(schema.BuiltinOperator, op.kind)
        code.deprecatedBuiltinCode = min(code.builtinCode, 127)
        code.version = op.version
        o = schema.OperatorT()
        o.opcodeIndex = len(codes)
        codes.append(code)
        o.inputs, o.outputs = list(op.inputs), list(op.outputs)
        o.builtinOptionsType = getattr(schema.BuiltinOptions, op.options_type)
        o.builtinOptions = op.options
        operators.append(o)
    sg = schema.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = tts, operators, inputs, outputs, "main"
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [sg], buffers
    model.description = "written by tests/tflite_writer.py"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(builder.Output())
    return path
