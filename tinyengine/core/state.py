"""Where a model's variable tensors live: state that persists from one call to the next
(an LSTM's hidden and cell state), outside the arena, which every call reuses.

Each variable tensor gets a slot in one static state array (16-byte aligned slots). Its
initial value is what TF-Lite Micro's ResetVariableTensors gives: every byte the zero point
for an int8 tensor, 0 for any other type."""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph

STATE_ALIGN = 16


@dataclass(frozen=True)
class StateSlot:
    tensor: int
    name: str
    offset: int
    nbytes: int
    fill: int    # the byte value every byte starts at (and returns to on reset)


@dataclass(frozen=True)
class StateLayout:
    slots: tuple[StateSlot, ...]

    @property
    def total_bytes(self) -> int:
        return max((s.offset + s.nbytes for s in self.slots), default=0)

    def offset(self, tensor: int) -> int:
        for s in self.slots:
            if s.tensor == tensor:
                return s.offset
        raise KeyError(tensor)


def state_layout(graph: Graph) -> StateLayout:
    slots, pos = [], 0
    for t in graph.variables:
        tensor = graph.tensors[t]
        fill = tensor.quant.zero_point & 0xFF if tensor.dtype == "int8" and tensor.quant else 0
        slots.append(StateSlot(t, tensor.name, pos, tensor.nbytes, fill))
        pos += -(-tensor.nbytes // STATE_ALIGN) * STATE_ALIGN
    return StateLayout(tuple(slots))
