"""Silence chatter that libraries print straight to the process's file descriptors
(TensorFlow's converter and the TFLite interpreters write from C++, below Python)."""

from __future__ import annotations

import contextlib
import io
import os
import sys


@contextlib.contextmanager
def quiet(fds: tuple[int, ...] = (2,)):
    """Send file descriptors `fds` (1 stdout, 2 stderr) and the matching Python streams to
    /dev/null for the duration. Exceptions still propagate with their messages."""
    saved = []
    try:
        for fd in fds:
            try:
                saved.append((fd, os.dup(fd)))
            except OSError:
                pass
        with open(os.devnull, "w") as devnull, contextlib.ExitStack() as stack:
            for fd, _ in saved:
                if fd == 1:
                    sys.stdout.flush()
                    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
                else:
                    sys.stderr.flush()
                    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
                os.dup2(devnull.fileno(), fd)
            yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
