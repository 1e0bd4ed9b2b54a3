"""Boards as data: every folder under boards/ with a board.toml is a target.

Adding a board means adding a folder (board.toml, memory.ld, any board sources);
no Python changes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import TinyMLError
from .resources import BOARDS_DIR

HOST = "host"


@dataclass(frozen=True)
class Region:
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    kind: str                  # "qemu" or "hardware"
    cpu: str
    cflags: tuple[str, ...]
    clock_hz: int
    console: str               # "semihosting" or "uart"
    counter: str               # "systick" or "dwt"
    stack_bytes: int
    stack_in_sram: bool        # False when the linker script puts the stack in another bank (e.g. DTCM)
    flash: Region
    sram: Region
    sources: tuple[Path, ...]
    app: Path
    linker: Path
    folder: Path
    qemu_machine: str | None
    flash_tool: str | None     # how a user flashes it (hardware boards)

    @property
    def runs_here(self) -> bool:
        return self.qemu_machine is not None


def _region(data: dict, key: str, board: str) -> Region:
    try:
        r = data["memory"][key]
        return Region(int(r["origin"]), int(r["size"]))
    except (KeyError, TypeError, ValueError):
        raise TinyMLError(f"board '{board}': board.toml needs "
                          f"[memory] {key} = {{ origin = ..., size = ... }}") from None


def load_board(name: str, boards_dir: Path = BOARDS_DIR) -> Board:
    folder = boards_dir / name
    toml_path = folder / "board.toml"
    if not toml_path.is_file():
        raise TinyMLError(f"unknown board '{name}'; available: {', '.join(board_names(boards_dir))}")
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise TinyMLError(f"board '{name}': {toml_path} is not valid TOML: {exc}") from None
    try:
        board = Board(
            name=name, description=data.get("description", ""), kind=data.get("kind", "qemu"), cpu=data["cpu"],
            cflags=tuple(data["cflags"]), clock_hz=int(data["clock_hz"]), console=data["console"],
            counter=data["counter"], stack_bytes=int(data.get("stack_bytes", 8192)),
            stack_in_sram=bool(data.get("stack_in_sram", True)),
            flash=_region(data, "flash", name), sram=_region(data, "sram", name),
            sources=tuple((folder / s).resolve() for s in data["sources"]), app=(folder / data["app"]).resolve(),
            linker=(folder / data["linker"]).resolve(), folder=folder.resolve(),
            qemu_machine=data.get("qemu", {}).get("machine"), flash_tool=data.get("flash", {}).get("tool"))
    except KeyError as exc:
        raise TinyMLError(f"board '{name}': board.toml is missing '{exc.args[0]}'") from None
    for f in (*board.sources, board.app, board.linker):
        if not f.is_file():
            raise TinyMLError(f"board '{name}': {f} (named in board.toml) does not exist")
    return board


def board_names(boards_dir: Path = BOARDS_DIR) -> list[str]:
    return sorted(p.parent.name for p in boards_dir.glob("*/board.toml"))


def target_names(boards_dir: Path = BOARDS_DIR) -> list[str]:
    """Targets a model can run on here: the host and every board QEMU can emulate."""
    return [HOST] + [n for n in board_names(boards_dir) if load_board(n, boards_dir).runs_here]
