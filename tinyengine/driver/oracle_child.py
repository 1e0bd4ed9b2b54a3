"""A reference interpreter in a child process, so that one that aborts cannot take tinyml down.

TF-Lite Micro's Python interpreter stops the whole process (SIGABRT, no message) on some models
its Prepare rejects, and either interpreter may crash on a model it was never meant to see.
`ChildOracle` runs the real oracle (tinyengine.driver.oracle) in a forked child and talks to it
over a pipe; if the child dies, the call raises OracleRefusedError naming the interpreter, the
model and the signal, which `tinyml verify` turns into its one-line error (or, with
`--reference both`, a "not checked" line while the other interpreter's check goes on).

The child is forked (it inherits the loaded interpreter modules: no start-up cost). Forking a
process that has loaded TensorFlow is not safe (its thread pools may hold locks), so
`isolated_oracle` forks only when TensorFlow is not loaded (the `tinyml` CLI never loads it for
verify), and otherwise runs the oracle in process."""

from __future__ import annotations

import faulthandler
import multiprocessing
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from ..core.errors import TinyMLError
from .oracle import Oracle, OracleRefusedError, make_oracle, one_line

_LABELS = {"tflm": "TF-Lite Micro", "litert": "LiteRT"}


def _serve(conn: Connection, name: str, model_path: Path, num_outputs: int) -> None:
    """The child: build the oracle, then answer (method, argument) requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; the pipe closing ends us
    faulthandler.disable()   # an interpreter's abort is reported by the parent in one line, not as a dump
    try:
        oracle = make_oracle(name, model_path, num_outputs)
    except OracleRefusedError as exc:
        conn.send(("refused", str(exc)))
        return
    except Exception as exc:  # reported in the parent as one line
        conn.send(("error", one_line(exc)))
        return
    conn.send(("ok", None))
    while True:
        try:
            method, arg = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", getattr(oracle, method)(*arg)))
        except Exception as exc:
            conn.send(("error", one_line(exc)))


class ChildOracle(Oracle):
    """The oracle `name` for `model_path`, run in a forked child process."""

    def __init__(self, name: str, model_path: Path, num_outputs: int):
        self.name = name
        self._what = f"{_LABELS.get(name, name)} cannot check '{Path(model_path).name}'"
        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, name, Path(model_path), num_outputs), daemon=True)
        self._proc.start()
        child.close()
        status, value = self._receive()
        if status == "refused":
            self.close()
            raise OracleRefusedError(value)
        if status == "error":
            self.close()
            raise OracleRefusedError(f"{self._what}: {value}")

    def _receive(self) -> tuple[str, object]:
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            how = (f"it died with signal {signal.Signals(-code).name}" if code is not None and code < 0 else
                   f"it exited with status {code}")
            raise OracleRefusedError(f"{self._what}: {how} (the interpreter stopped on this model without "
                                     "an error message)") from None

    def _call(self, method: str, *arg: object) -> object:
        try:
            self._conn.send((method, arg))
        except (BrokenPipeError, OSError):
            pass  # the child is gone: _receive says how
        status, value = self._receive()
        if status != "ok":
            raise TinyMLError(f"{_LABELS.get(self.name, self.name)} failed on a run: {value}")
        return value

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self._call("run", inputs)  # type: ignore[return-value]

    def tensor(self, index: int) -> np.ndarray:
        return self._call("tensor", index)  # type: ignore[return-value]

    def reset(self) -> None:
        self._call("reset")

    def close(self) -> None:
        self._conn.close()
        self._proc.join(5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def fork_is_safe() -> bool:
    return sys.platform != "win32" and "tensorflow" not in sys.modules


def isolated_oracle(name: str, model_path: Path, num_outputs: int) -> Oracle:
    """The oracle in a child process where forking is safe, else in this process."""
    if name in _LABELS and fork_is_safe():
        return ChildOracle(name, model_path, num_outputs)
    return make_oracle(name, model_path, num_outputs)
