"""The two reference interpreters, behind one interface.

`tflm`   tflite_micro.runtime.Interpreter (kPreserveAllTensors), what MCUs run.
`litert` ai_edge_litert Interpreter with the BUILTIN_REF resolver (reference
         kernels; the default XNNPACK path differs by 1-2 LSB) and
         experimental_preserve_all_tensors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..core.errors import TinyMLError
from ..core.ir import Graph
from .quiet import quiet


class OracleRefusedError(TinyMLError):
    """The reference interpreter cannot load or prepare the model: it cannot check it."""


def one_line(text: str) -> str:
    """An interpreter's error text as one line: its lines and run-together sentences split,
    repeats dropped, joined with '; '."""
    parts: list[str] = []
    for piece in re.split(r"[\r\n]+|(?<=\.)(?=[A-Z])", str(text)):
        piece = " ".join(piece.split())
        if piece and piece not in parts:
            parts.append(piece)
    line = "".join(p if i == 0 else (" " if parts[i - 1].endswith(".") else "; ") + p for i, p in enumerate(parts))
    line = line or "no reason given"
    return line if len(line) <= 300 else line[:297] + "..."


class Oracle:
    name = "oracle"

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def tensor(self, index: int) -> np.ndarray:
        """Value of tensor `index` from the last run (intermediate tensors included)."""
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the initial state: a stateful model's variable tensors, which otherwise
        carry over from one run to the next."""
        raise NotImplementedError


class TflmOracle(Oracle):
    name = "tflm"

    def __init__(self, model_path: Path, num_outputs: int):
        from tflite_micro.python.tflite_micro import runtime

        data = Path(model_path).read_bytes()
        self._num_outputs = num_outputs
        try:
            with quiet():
                self._interp = runtime.Interpreter.from_bytes(
                    data, arena_size=max(len(data) * 10, 4 << 20),
                    intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
        except Exception as exc:
            raise OracleRefusedError(f"TF-Lite Micro cannot check '{Path(model_path).name}': {one_line(exc)}") from None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, x in enumerate(inputs):
            self._interp.set_input(x, i)
        self._interp.invoke()
        return [np.array(self._interp.get_output(i)) for i in range(self._num_outputs)]

    def tensor(self, index: int) -> np.ndarray:
        return np.array(self._interp.GetTensor(index, 0)["tensor_data"])

    def reset(self) -> None:
        self._interp.reset()


class LiteRTOracle(Oracle):
    name = "litert"

    def __init__(self, model_path: Path, num_outputs: int):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        try:
            self._interp = Interpreter(model_path=str(model_path),
                                       experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                                       experimental_preserve_all_tensors=True)
            self._interp.allocate_tensors()
        except Exception as exc:
            raise OracleRefusedError(f"LiteRT cannot check '{Path(model_path).name}': {one_line(exc)}") from None
        self._in = [d["index"] for d in self._interp.get_input_details()]
        self._out = [d["index"] for d in self._interp.get_output_details()]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for idx, x in zip(self._in, inputs):
            self._interp.set_tensor(idx, x)
        self._interp.invoke()
        return [np.array(self._interp.get_tensor(i)) for i in self._out]

    def tensor(self, index: int) -> np.ndarray:
        return np.array(self._interp.get_tensor(index))

    def reset(self) -> None:
        self._interp.reset_all_variables()


class InterfaceOracle(Oracle):
    """The model's interpreter behind a compiled interface that differs from the model's own
    (--int8-io, tinyengine.core.interface): an int8 input where the model takes float32 is fed
    dequantized, (q - zero_point) * scale, which the model's QUANTIZE turns back into q (checked
    on every run); the outputs are the int8 tensors the compiled network returns."""

    def __init__(self, base: Oracle, graph: Graph, own_inputs: tuple[int, ...]):
        self.name = base.name
        self._base, self._graph, self._own = base, graph, own_inputs

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        g = self._graph
        feed = []
        for x, own, new in zip(inputs, self._own, g.inputs):
            q = g.tensors[new].quant
            feed.append(x if own == new else
                        ((x.astype(np.float32) - np.float32(q.zero_point)) * np.float32(q.scale)).astype(np.float32))
        self._base.run(feed)
        for i, (x, own, new) in enumerate(zip(inputs, self._own, g.inputs)):
            if own != new and not np.array_equal(self._base.tensor(new).reshape(-1), x.reshape(-1)):
                raise TinyMLError(f"the model's QUANTIZE of input {i} does not give back the int8 values it was fed "
                                  f"dequantized; --int8-io cannot be checked against {self.name}")
        return [self._base.tensor(t).reshape(g.tensors[t].shape) for t in g.outputs]

    def tensor(self, index: int) -> np.ndarray:
        return self._base.tensor(index)

    def reset(self) -> None:
        self._base.reset()


def make_oracle(name: str, model_path: Path, num_outputs: int) -> Oracle:
    if name == "tflm":
        return TflmOracle(model_path, num_outputs)
    if name == "litert":
        return LiteRTOracle(model_path, num_outputs)
    raise TinyMLError(f"unknown reference '{name}' (tflm or litert)")


