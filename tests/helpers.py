"""Assertion helper used by the op tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import require

from tinyengine.core.reader import read_tflite
from tinyengine.driver.verify import verify_model

# Every op example runs on the host and on a Cortex-M4 in QEMU (the kernels are
# cross-compiled with arm-none-eabi-gcc); TINYML_OP_TARGETS changes the list.
OP_TARGETS = [t for t in os.environ.get("TINYML_OP_TARGETS", "host,qemu-an386").split(",") if t]


def assert_bit_exact(model: Path, count: int = 8, seed: int = 0, contracts=("tflm", "litert"),
                     expect_ops: set[str] | None = None, input_sets: list | None = None) -> None:
    """The property every op test checks: generated C == oracle, byte for byte, both contracts,
    on every target in OP_TARGETS (on `count` random inputs, or on `input_sets`)."""
    if expect_ops is not None:
        kinds = {op.kind for op in read_tflite(model).ops}
        assert expect_ops <= kinds, f"converter produced {sorted(kinds)}, expected {sorted(expect_ops)}"
    for target in OP_TARGETS:
        if target != "host":
            require(shutil.which("qemu-system-arm") is not None and shutil.which("arm-none-eabi-gcc") is not None,
                    "qemu-system-arm and arm-none-eabi-gcc")
        for contract in contracts:
            result = verify_model(model, contract, input_sets=input_sets, count=count, seed=seed, target=target)
            assert result.ok, result.summary()
