"""Read a .tflite flatbuffer into the graph IR, refusing what cannot be compiled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from .errors import MalformedModelError, UnsupportedModelError
from .ir import DTYPE_BYTES, Graph, Op, Quant, Tensor

_TENSOR_TYPES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_NUMPY_DTYPES = {
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
    "float32": np.float32, "float16": np.float16, "float64": np.float64, "bool": np.bool_,
}


def read_tflite(path: str | Path) -> Graph:
    """Parse `path`; raise MalformedModelError / UnsupportedModelError with a clear message."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise MalformedModelError(f"cannot read model '{path}': {exc.strerror}") from None
    return parse_tflite(buf, name=printable(path.stem))


def printable(text: str) -> str:
    """`text` with control characters as '?': names reach one-line messages, C comments and
    C strings."""
    return "".join(c if c.isprintable() else "?" for c in text)


def parse_tflite(buf: bytes, name: str = "model") -> Graph:
    if len(buf) < 16 or buf[4:8] != b"TFL3":
        raise MalformedModelError(
            f"'{name}' is not a TFLite model (missing the 'TFL3' flatbuffer identifier; "
            f"{len(buf)} bytes)")
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
    except Exception as exc:  # flatbuffers raises assorted errors on corrupt data
        raise MalformedModelError(f"'{name}' is truncated or corrupt: {type(exc).__name__}: {exc}") from None
    try:
        return _to_graph(model, buf, name)
    except (MalformedModelError, UnsupportedModelError):
        raise
    except Exception as exc:
        raise MalformedModelError(f"'{name}' is truncated or corrupt: {type(exc).__name__}: {exc}") from None


def _to_graph(model: Any, buf: bytes, name: str) -> Graph:
    subgraphs = model.subgraphs or []
    if len(subgraphs) != 1:
        raise UnsupportedModelError(
            f"'{name}' has {len(subgraphs)} subgraphs; only single-subgraph models are supported "
            "(control flow such as WHILE/IF is not)")
    sg = subgraphs[0]
    buffers = model.buffers or []
    tensors = tuple(_read_tensor(i, t, buffers, buf, name) for i, t in enumerate(sg.tensors or []))
    ops = []
    for i, op in enumerate(sg.operators or []):
        if op.opcodeIndex >= len(model.operatorCodes or []):
            raise MalformedModelError(
                f"'{name}': op #{i} refers to operator code {op.opcodeIndex}, which does not exist")
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        kind = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if kind == "CUSTOM":
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            kind = f"CUSTOM:{printable(custom or '')}"
        inputs = tuple(int(t) for t in (op.inputs if op.inputs is not None else []))
        outputs = tuple(int(t) for t in (op.outputs if op.outputs is not None else []))
        intermediates = tuple(int(t) for t in (op.intermediates if op.intermediates is not None else []))
        for t in inputs + outputs + intermediates:
            if t < -1 or t >= len(tensors):
                raise MalformedModelError(f"'{name}': op #{i} ({kind}) refers to tensor {t}, which does not exist")
        ops.append(Op(i, kind, inputs, outputs, _options(op.builtinOptions), intermediates))
    graph_inputs = tuple(int(t) for t in (sg.inputs if sg.inputs is not None else []))
    graph_outputs = tuple(int(t) for t in (sg.outputs if sg.outputs is not None else []))
    return Graph(name, tensors, tuple(ops), graph_inputs, graph_outputs)


def _read_tensor(index: int, t: Any, buffers: list, buf: bytes, model_name: str) -> Tensor:
    tname = t.name.decode(errors="replace") if isinstance(t.name, bytes) else (t.name or f"tensor_{index}")
    tname = printable(tname) or f"tensor_{index}"
    dtype = _TENSOR_TYPES.get(t.type, f"type{t.type}")
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    # A -1 in shape_signature (e.g. a dynamic batch) is resolved by the concrete `shape`,
    # exactly as TF-Lite Micro does; a shape that is itself unresolved cannot be planned.
    if any(d < 0 for d in shape) or (t.hasRank is False and t.shape is None and t.shapeSignature is not None):
        raise UnsupportedModelError(
            f"tensor '{tname}' has a dynamic shape {list(shape)}; "
            "re-export the model with a fixed batch size and input shape")
    quant = None
    q = t.quantization
    if q is not None and q.scale is not None and len(q.scale) > 0:
        zps = q.zeroPoint if q.zeroPoint is not None else [0] * len(q.scale)
        quant = Quant(tuple(float(s) for s in q.scale), tuple(int(z) for z in zps), int(q.quantizedDimension))
    data = None
    if 0 < t.buffer < len(buffers):
        raw = _buffer_bytes(buffers[t.buffer], buf)
        if raw is not None and len(raw) > 0:
            if dtype not in _NUMPY_DTYPES:
                raise UnsupportedModelError(f"constant tensor '{tname}' has unsupported type {dtype}")
            expected = int(np.prod(shape, dtype=np.int64)) * DTYPE_BYTES[dtype]
            if len(raw) != expected:
                raise MalformedModelError(
                    f"'{model_name}': constant tensor '{tname}' holds {len(raw)} bytes, "
                    f"its shape {list(shape)} x {dtype} needs {expected}")
            data = np.frombuffer(bytes(raw), dtype=_NUMPY_DTYPES[dtype]).reshape(shape)
    elif t.buffer >= len(buffers) and t.buffer != 0:
        raise MalformedModelError(f"'{model_name}': tensor '{tname}' refers to buffer {t.buffer}, which does not exist")
    variable = bool(t.isVariable)
    if variable and data is not None:
        raise UnsupportedModelError(
            f"variable tensor '{tname}' has an initial value in the file; only zero-initialised state is supported")
    return Tensor(index, tname, shape, dtype, quant, data, variable)


def _buffer_bytes(b: Any, buf: bytes) -> bytes | None:
    if b.data is not None:
        return bytes(np.asarray(b.data, dtype=np.uint8))
    if b.offset > 1 and b.size > 0:
        if b.offset + b.size > len(buf):
            raise MalformedModelError("a buffer lies beyond the end of the file (truncated model)")
        return buf[b.offset:b.offset + b.size]
    return None


def _options(opts: Any) -> dict[str, Any]:
    if opts is None:
        return {}
    out = {}
    for key, value in vars(opts).items():
        if isinstance(value, np.ndarray):
            value = [int(v) for v in value]
        elif isinstance(value, bytes):
            value = value.decode(errors="replace")
        out[key] = value
    return out
