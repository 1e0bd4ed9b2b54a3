"""Imports go one way: core <- codegen <- driver <- cli / demo <- tinynas.

A module may import its own layer and the layers below it. The CLI and the demo
start TinyNAS runs, so they may import tinynas, but only inside a function (never
when the module loads). Checked on the source with `ast`, relative imports resolved."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# layer -> the packages it may import at module level (besides itself and third-party code)
LAYERS = {
    "tinyengine.core": set(),
    "codegen": {"tinyengine.core"},
    "tinyengine.driver": {"tinyengine.core", "codegen"},
    "tinyengine.cli": {"tinyengine.core", "codegen", "tinyengine.driver", "tinyengine"},
    "tinyengine.demo": {"tinyengine.core", "codegen", "tinyengine.driver", "tinyengine"},
    "tinynas": {"tinyengine.core", "codegen", "tinyengine.driver", "tinyengine"},
}
LAZY_OK = {"tinyengine.cli": {"tinynas"}, "tinyengine.demo": {"tinynas"}}
OURS = ("tinyengine", "codegen", "tinynas")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> str:
    for layer in sorted(LAYERS, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    if module in ("tinyengine", "tinyengine.__main__", "tinyengine.__version__"):
        return "tinyengine"   # the package root: only __version__, importable from every layer
    raise AssertionError(f"module {module} belongs to no layer: add it to LAYERS")


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import of our own packages."""
    tree = ast.parse(path.read_text())
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" if not node.module else base for a in node.names]
        for name in names:
            if name.split(".")[0] in OURS:
                found.append((name, node.lineno, id(node) in top_level))
    return found


SOURCES = sorted(p for pkg in OURS for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_one_way(path):
    module = _module_name(path)
    layer = _layer(module)
    if layer == "tinyengine":   # the package root and __main__ only re-export
        return
    allowed = LAYERS[layer] | {layer, "tinyengine"}
    for name, line, top in _imports(path):
        target = _layer(name)
        if target in allowed or (not top and target in LAZY_OK.get(layer, set())):
            continue
        pytest.fail(f"{path.relative_to(ROOT)}:{line}: {layer} imports {name} ({target}), a layer above it"
                    + ("" if top else " (even inside a function)"))


def test_core_knows_nothing_of_c_or_boards():
    """The core never imports codegen, jinja2, cffi or the board files."""
    for path in (ROOT / "tinyengine" / "core").rglob("*.py"):
        text = path.read_text()
        for word in ("import jinja2", "import cffi", "from codegen", "tomllib"):
            assert word not in text, f"{path.relative_to(ROOT)} uses {word}"
