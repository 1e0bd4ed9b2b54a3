"""Assertion helper used by the op tests."""

from __future__ import annotations

from pathlib import Path

from tinyengine.reader import read_tflite
from tinyengine.verify import verify_model


def assert_bit_exact(model: Path, count: int = 8, seed: int = 0, contracts=("tflm", "litert"),
                     expect_ops: set[str] | None = None) -> None:
    """The property every op test checks: generated C == oracle, byte for byte, both contracts."""
    if expect_ops is not None:
        kinds = {op.kind for op in read_tflite(model).ops}
        assert expect_ops <= kinds, f"converter produced {sorted(kinds)}, expected {sorted(expect_ops)}"
    for contract in contracts:
        result = verify_model(model, contract, count=count, seed=seed)
        assert result.ok, result.summary()
