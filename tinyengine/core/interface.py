"""The compiled network's interface: the model's own, or int8 (`--int8-io`).

Many exported models take a float32 input that a QUANTIZE turns into int8, and end in a
DEQUANTIZE to float32. The float input buffer (4 bytes a value) then sits in the arena next
to its int8 copy. `int8_interface` removes those two ops: the compiled network takes the
QUANTIZE's int8 output as its input and returns the DEQUANTIZE's int8 input, and the caller
quantizes and dequantizes with the scale and zero point model.h gives (or not at all, when
its data is int8 already, e.g. from a sensor pipeline).

`Interface` keeps, for each compiled input and output, the model's own tensor, so the
reference interpreter (which runs the model's float interface) can be fed and read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import TinyMLError
from .ir import Graph


@dataclass(frozen=True)
class Interface:
    """Per compiled input / output: the model's own input / output tensor it stands for (the same
    tensor unless --int8-io removed a QUANTIZE or DEQUANTIZE there)."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    @staticmethod
    def own(graph: Graph) -> Interface:
        return Interface(graph.inputs, graph.outputs)


def _readers(graph: Graph, t: int) -> list[int]:
    return [op.index for op in graph.ops if t in op.inputs]


def int8_interface(graph: Graph) -> tuple[Graph, Interface]:
    """`graph` with the QUANTIZE of each float32 input and the DEQUANTIZE of each float32 output
    removed (its int8 tensors become the interface), and how the new interface maps to the old.
    int8 inputs and outputs stay. Raises TinyMLError, naming the tensor, for a float input not
    read by one QUANTIZE alone, or a float output not written by a DEQUANTIZE of int8."""
    producer = {t: op.index for op in graph.ops for t in op.outputs}
    dropped: set[int] = set()
    inputs, outputs = [], []
    for t in graph.inputs:
        tensor = graph.tensors[t]
        if tensor.dtype != "float32":
            inputs.append(t)
            continue
        readers = _readers(graph, t)
        op = graph.ops[readers[0]] if len(readers) == 1 else None
        if op is None or op.kind != "QUANTIZE" or graph.tensors[op.outputs[0]].dtype != "int8":
            raise TinyMLError(f"--int8-io: input '{tensor.name}' is float32 but is not read by exactly one "
                              f"QUANTIZE to int8 (readers: {[graph.ops[i].kind for i in readers]})")
        dropped.add(op.index)
        inputs.append(op.outputs[0])
    for t in graph.outputs:
        tensor = graph.tensors[t]
        if tensor.dtype != "float32":
            outputs.append(t)
            continue
        op = graph.ops[producer[t]] if t in producer else None
        if op is None or op.kind != "DEQUANTIZE" or graph.tensors[op.inputs[0]].dtype != "int8":
            raise TinyMLError(f"--int8-io: output '{tensor.name}' is float32 but is not written by a DEQUANTIZE "
                              "of an int8 tensor")
        if _readers(graph, t):
            raise TinyMLError(f"--int8-io: output '{tensor.name}' is also read inside the model")
        dropped.add(op.index)
        outputs.append(op.inputs[0])
    if not dropped:
        return graph, Interface.own(graph)
    ops = tuple(dataclasses.replace(op, index=i)
                for i, op in enumerate(op for op in graph.ops if op.index not in dropped))
    new = dataclasses.replace(graph, ops=ops, inputs=tuple(inputs), outputs=tuple(outputs))
    return new, Interface(graph.inputs, graph.outputs)
