"""Ctrl-C for a long search, stopped at a safe point.

A KeyboardInterrupt raised wherever Python happens to be can land inside
TensorFlow's tracing or a C call, where it is swallowed or turns into an
unrelated SystemError. So while a search runs, the first SIGINT only records the
request; the search calls `check()` between training steps, epochs, candidate
evaluations and verification steps, which raises KeyboardInterrupt there, and
the search saves its checkpoint. A second Ctrl-C interrupts at once."""

from __future__ import annotations

import signal
import sys
import threading


class SafeInterrupt:
    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        sys.stderr.write("\ninterrupt: stopping at the next safe point (Ctrl-C again to stop now)\n")

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def __enter__(self) -> SafeInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def keras_callback(check):
    """A Keras callback that calls `check` after every training batch (so an epoch stops mid-way)."""
    import tensorflow as tf

    class _Check(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            check()

    return _Check()
