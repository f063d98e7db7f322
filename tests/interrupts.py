"""Ctrl-C as a terminal delivers it, whatever started the suite."""

from __future__ import annotations

import signal


def ctrl_c_handled() -> None:
    """For ``Popen(preexec_fn=...)``: the child starts with SIGINT's default action, as under a
    terminal, so that Python turns it into KeyboardInterrupt. A suite started in the background
    by a shell without job control inherits SIGINT ignored, and Python then leaves it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
