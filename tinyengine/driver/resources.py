"""Where the C runtime (runtime_c/) and the board folders (boards/) are, found through importlib.resources.

A wheel ships both inside the package: pyproject.toml maps the checkout's runtime_c/ and boards/ to
``tinyengine/runtime_c`` and ``tinyengine/boards`` ([tool.setuptools.package-dir] plus package-data).
An editable install or a plain checkout imports ``tinyengine`` from the source tree, where the two
folders sit beside the package (setuptools' editable finder does not map folders without Python
files), so the tree's root is the second place looked at. The C compilers need real files on disk:
tinyengine must be installed as files (a pip install is), not imported from a zip archive.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("tinyengine"))).resolve()


def data_dir(name: str) -> Path:
    """The shipped folder `name`: inside the installed package, else beside it in the source tree."""
    for candidate in (PACKAGE_DIR / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR / name   # missing everywhere: errors then name the installed location


RUNTIME_DIR = data_dir("runtime_c")
BOARDS_DIR = data_dir("boards")
COMMON_DIR = BOARDS_DIR / "common"

__all__ = ["PACKAGE_DIR", "RUNTIME_DIR", "BOARDS_DIR", "COMMON_DIR", "data_dir"]
