"""Compile + verify helpers used by the op and model tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from tinyengine.pipeline import compile_model, write_output
from tinyengine.verify import VerifyResult, random_inputs, verify_host


def verify(model: Path, contract: str, count: int = 8, seed: int = 0,
           inputs: list[list[np.ndarray]] | None = None) -> VerifyResult:
    compiled = compile_model(model, contract)
    with tempfile.TemporaryDirectory(prefix="tinyml-test-") as tmp:
        out = write_output(compiled, Path(tmp) / "m")
        sets = inputs if inputs is not None else random_inputs(compiled.graph, count, seed)
        return verify_host(compiled, out, sets, contract)


def assert_bit_exact(model: Path, count: int = 8, seed: int = 0, contracts=("tflm", "litert"),
                     expect_ops: set[str] | None = None) -> None:
    """The property every op test checks: generated C == oracle, byte for byte, both contracts."""
    if expect_ops is not None:
        from tinyengine.reader import read_tflite

        kinds = {op.kind for op in read_tflite(model).ops}
        assert expect_ops <= kinds, f"converter produced {sorted(kinds)}, expected {sorted(expect_ops)}"
    for contract in contracts:
        result = verify(model, contract, count, seed)
        assert result.ok, result.summary()
