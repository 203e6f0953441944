"""Ctrl-C and SIGTERM as one exception, so each command can say what it kept and exit 130 or 143.

The exception derives from SystemExit, a BaseException: `except Exception` blocks do not swallow it, and
the store's transactions roll back on it, so nothing half-written is committed. Event loops that catch
everything else while serving a connection still let SystemExit through (waitress's does, for
KeyboardInterrupt and SystemExit only): a SIGTERM that lands while the HTTP server reads a request stops it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(SystemExit):  # noqa: N818 - named like KeyboardInterrupt, which it stands beside
    """The process was asked to stop by `signum`; `kept` says what survives, for the one line printed."""

    def __init__(self, signum: int, kept: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        self.kept = kept

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


_received: list[int] = []  # the signals received inside `interrupts_raise`


def _raise(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    raise Interrupted(signum)


def raise_if_signalled() -> None:
    """Raise Interrupted again for a signal that a library caught and ended on quietly (waitress's server loop
    returns on SystemExit): the command still says what it kept and exits 130 or 143."""
    if _received:
        raise Interrupted(_received[-1])


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise Interrupted in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
