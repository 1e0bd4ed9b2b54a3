import os
import signal
import sys

# Ctrl-C while the CLI's modules load exits 130 at once, like any other interrupt
# (tinyengine.cli installs the same handler for the `tinyml` entry point)
signal.signal(signal.SIGINT, lambda _signum, _frame: os._exit(130))

from .cli import main  # noqa: E402

sys.exit(main())
