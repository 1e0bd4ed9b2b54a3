"""Output directories are written whole or not at all: the work goes into a temporary
directory beside the output, which replaces it in one rename when everything succeeded and is
removed on any failure or interrupt. Concurrent writers to one output both finish, and the
output is always one of their complete results."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import TinyMLError


def check_output_dir(out_dir: Path) -> None:
    """Refuse an output directory path that names something other than a directory."""
    if (out_dir.exists() or out_dir.is_symlink()) and not out_dir.is_dir():
        raise TinyMLError(f"output '{out_dir}' exists and is not a directory; give a directory path with -o")


@contextlib.contextmanager
def staged_dir(out_dir: Path) -> Iterator[Path]:
    """A fresh temporary directory; when the block ends without an error it becomes `out_dir`
    (replacing a previous one), otherwise it is removed."""
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise TinyMLError(f"cannot write output '{out_dir}': {exc.strerror or exc}") from None
    try:
        yield tmp
        replace_dir(tmp, out_dir)
    except OSError as exc:
        raise TinyMLError(f"cannot write output '{out_dir}': {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(tmp: Path, out_dir: Path) -> None:
    """Rename `tmp` to `out_dir`, moving a previous `out_dir` aside first and removing it after.
    Another process may be doing the same: a rename that loses that race is retried."""
    olds: list[Path] = []
    try:
        for attempt in range(200):
            try:
                if out_dir.exists() or out_dir.is_symlink():
                    check_output_dir(out_dir)
                    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{attempt}")
                    out_dir.rename(old)
                    olds.append(old)
                tmp.rename(out_dir)
                return
            except FileNotFoundError:
                pass                 # another writer moved the old output away first
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise TinyMLError(f"cannot write output '{out_dir}': {exc.strerror or exc}") from None
            time.sleep(0.01)         # another writer put its output in place first: replace it
        raise TinyMLError(f"cannot write output '{out_dir}': other processes keep replacing it")
    finally:
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)
