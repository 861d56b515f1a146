"""How a long piece of work stops on SIGINT (Ctrl-C) or SIGTERM: one mechanism for every command.

Within :func:`signals_raise`, SIGINT and SIGTERM raise :class:`Interrupted` (a ``KeyboardInterrupt``
that knows which signal came) in the main thread, so that ``finally`` blocks and the atomic writers of
:mod:`lstm1997.io` remove every temporary file and leave no partial output. Both signals are caught even
where the process was started with SIGINT ignored (a shell starts background jobs that way): a signal
sent on purpose always stops the work, never lets it run on and end as if finished.

Work that keeps a checkpoint (``lstm1997 run``'s trial loop, the runner's trials) installs its own,
cooperative handler inside this one (stop at the next chunk, save, then end), and restores this one
afterwards. A block that must not be cut half-way (moving finished files into place) runs inside
:func:`deferred`: a signal that arrives there is raised as soon as the block ends.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Interrupted", "signals_raise", "deferred", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the work; ``signum`` is the signal, ``name`` its name ("SIGTERM");
    ``late`` is true when it was held back by :func:`deferred` and the block it protected had completed."""

    late = False

    def __init__(self, signum: int = signal.SIGINT):
        self.signum = int(signum)
        self.name = signal.Signals(self.signum).name
        super().__init__(self.name)


_state = threading.local()


def _handler(signum, frame):
    pending = getattr(_state, "deferred", None)
    if pending is not None:
        if not pending:
            pending.append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def signals_raise() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise :class:`Interrupted` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}
    try:
        for sig in SIGNALS:
            old[sig] = signal.signal(sig, _handler)
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


@contextmanager
def deferred() -> Iterator[None]:
    """Within: a SIGINT or SIGTERM is held back and raised (as :class:`Interrupted`) when the block ends."""
    outer = getattr(_state, "deferred", None)
    if outer is not None:          # nested: the outer block raises
        yield
        return
    _state.deferred = []
    try:
        yield
    finally:
        got, _state.deferred = _state.deferred, None
    if got:
        e = Interrupted(got[0])
        e.late = True            # the block it held back ran to its end
        raise e
