"""A trial function for the runner's tests: the real trial ``args["trial"]``, whose worker process kills
itself (SIGKILL, as the kernel's out-of-memory killer would) when the trial reaches ``args["die_at"]``
training sequences, up to ``args["deaths"]`` times in all (counted by files ``args["marker"].N``)."""

from __future__ import annotations

import glob
import os
import signal

from lstm1997.experiments import open_trial


class _Dying:
    def __init__(self, run, args):
        self._run, self._args = run, args

    def __getattr__(self, name):
        return getattr(self._run, name)

    def advance(self, pause=None):
        a = self._args

        def p(progress):
            if progress["sequences"] >= a["die_at"]:
                n = len(glob.glob(a["marker"] + ".*"))
                if n < a["deaths"]:
                    open(f"{a['marker']}.{n}", "w").close()
                    os.kill(os.getpid(), signal.SIGKILL)
            return pause(progress) if pause is not None else False
        return self._run.advance(p)


def open_dying_trial(args, seed, checkpoint):
    return _Dying(open_trial(args["trial"], seed, checkpoint), args)


class _NumpyResult:
    def __init__(self, run):
        self._run = run

    def __getattr__(self, name):
        return getattr(self._run, name)

    def outcome(self):
        import numpy as np

        result, artifact = self._run.outcome()
        return {**result, "count": np.int64(3)}, artifact


def open_numpy_result_trial(args, seed, checkpoint):
    """The real trial ``args["trial"]``, whose result holds a NumPy integer (not JSON-able)."""
    return _NumpyResult(open_trial(args["trial"], seed, checkpoint))
