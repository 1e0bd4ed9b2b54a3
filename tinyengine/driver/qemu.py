"""Run firmware under QEMU: inputs and outputs through semihosting files, the
firmware's exit status as QEMU's, a timeout for hung firmware, faults reported
with the registers the firmware printed, and deterministic instruction counts
(-icount shift=0: one instruction per virtual nanosecond; SysTick runs at the
board's clock, so a tick is 1e9 / clock_hz instructions)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import TinyMLError
from .boards import Board

QEMU = "qemu-system-arm"
EXIT_MESSAGES = {
    3: "the firmware could not read input.bin or write its outputs (semihosting I/O)",
    4: "tinyml_run() returned an error",
    86: "the firmware hit a fault",
}


class FirmwareError(TinyMLError):
    """The firmware faulted, hung or exited with an error status."""


@dataclass(frozen=True)
class QemuRun:
    outputs: bytes
    layer_ticks: np.ndarray     # [inferences, layers] SysTick ticks
    total_ticks: np.ndarray     # [inferences]
    insns_per_tick: float
    dump: bytes | None
    console: str

    @property
    def layer_instructions(self) -> np.ndarray:
        return np.rint(self.layer_ticks * self.insns_per_tick).astype(np.int64)

    @property
    def total_instructions(self) -> np.ndarray:
        return np.rint(self.total_ticks * self.insns_per_tick).astype(np.int64)


def require_qemu() -> None:
    if shutil.which(QEMU) is None:
        raise TinyMLError(f"{QEMU} not found; install it with 'make setup' (Debian package qemu-system-arm)")


def qemu_command(board: Board, elf: Path, args: tuple[str, ...] = ()) -> list[str]:
    semihosting_args = "".join(f",arg={a}" for a in ("firmware", *args))
    return [QEMU, "-M", board.qemu_machine, "-kernel", str(elf), "-display", "none", "-serial", "null",
            "-monitor", "none", "-icount", "shift=0", "-chardev", "file,id=con,path=console.txt",
            "-semihosting-config", f"enable=on,target=native,chardev=con{semihosting_args}"]


def run_raw(board: Board, elf: Path, inputs: bytes, args: tuple[str, ...] = (),
            timeout: float = 120.0) -> tuple[str, dict[str, bytes]]:
    """Boot `elf` with input.bin in a fresh working directory; return the semihosting console
    and every file the firmware wrote. Raises FirmwareError on a fault, an error status or a hang."""
    require_qemu()
    if board.qemu_machine is None:
        raise TinyMLError(f"board '{board.name}' has no QEMU machine; build it and flash it instead")
    with tempfile.TemporaryDirectory(prefix="tinyml-qemu-") as tmp:
        work = Path(tmp)
        (work / "input.bin").write_bytes(inputs)
        try:
            proc = subprocess.run(qemu_command(board, elf.resolve(), args), cwd=work, capture_output=True,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise FirmwareError(f"{board.name}: the firmware did not finish within {timeout:g} s and was killed "
                                f"(hung?); console: {_read(work / 'console.txt').strip() or '(empty)'}") from None
        console = _read(work / "console.txt")
        if proc.returncode != 0:
            what = EXIT_MESSAGES.get(proc.returncode, f"QEMU exited with status {proc.returncode}")
            detail = "; ".join(x for x in (console.strip(), proc.stderr.strip()) if x)
            raise FirmwareError(f"{board.name}: {what}" + (f": {detail}" if detail else ""))
        files = {f.name: f.read_bytes() for f in work.iterdir() if f.name not in ("input.bin", "console.txt")}
        return console, files


def run_firmware(board: Board, elf: Path, inputs: bytes, num_layers: int, dump: bool = False,
                 timeout: float = 120.0, model: int = 0) -> QemuRun:
    """Run the model firmware on `inputs` (whole inferences back to back) and collect outputs and profile.
    `model`: which model of a firmware holding several (the app's command-line word "modelK")."""
    args = (*(("dump",) if dump else ()), *((f"model{model}",) if model else ()))
    console, files = run_raw(board, elf, inputs, args, timeout)
    profile = np.frombuffer(files["profile.bin"], dtype="<u4").reshape(-1, num_layers + 2)
    total = profile[:, -2].astype(np.uint64) | (profile[:, -1].astype(np.uint64) << np.uint64(32))
    return QemuRun(outputs=files["output.bin"], layer_ticks=profile[:, :num_layers].astype(np.int64),
                   total_ticks=total.astype(np.int64), insns_per_tick=1e9 / board.clock_hz,
                   dump=files.get("dump.bin"), console=console)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
