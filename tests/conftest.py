"""Shared test helpers. Under CI=true a missing tool or dataset fails the run, never skips."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyengine.driver.baselines import SHARED_MODELS as MODELS  # noqa: E402


def require(condition: bool, what: str) -> None:
    """Skip locally when a tool/dataset is missing; under CI fail instead."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required tool or data missing under CI: {what} (run 'make setup')")
    pytest.skip(f"missing: {what} (run 'make setup')")


def require_tool(name: str) -> None:
    require(shutil.which(name) is not None, name)


@pytest.fixture
def models_dir() -> Path:
    require(MODELS.is_dir(), f"shared models in {MODELS}")
    return MODELS

from hypothesis import HealthCheck, settings  # noqa: E402

# Examples are derived deterministically so CI is reproducible; each example converts
# a real TensorFlow model (cached), hence no deadline. `make test-all` raises TINYML_EXAMPLES.
settings.register_profile("tinyml", max_examples=int(os.environ.get("TINYML_EXAMPLES", "10")),
                          deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("tinyml")


# The test that runs for minutes (a wall-clock TinyNAS budget) goes first, so under
# `pytest -n 2` one worker runs it while the other works through the rest, instead of one
# worker finishing alone at the end.
_LONG_FIRST = ("test_tiny_budget_end_to_end_interrupted_and_resumed",)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.name not in _LONG_FIRST)
