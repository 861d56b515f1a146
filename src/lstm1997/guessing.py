"""Random weight guessing: draw all weights of a conventional recurrent net at random, test, repeat.

The 1997 paper (Sections 1 and 5.3; paper-spec §7) notes that this trivial search solves some
long-time-lag benchmarks faster than the gradient methods proposed for them. The procedure (the
authors' companion work, spec §7 [S]) is::

    REPEAT draw every weight uniformly from [low, high] UNTIL the net passes the test

This module is the library part: it knows nothing about any paper experiment. The net is a
:class:`~lstm1997.rnn.RNN` of logistic units (any :class:`~lstm1997.rnn.RNNArchitecture`, optionally
restricted to a subset of its connections by a ``mask``); the test is any ``Callable[[RNN], bool]``.
:class:`EndTest` is a fast test for the usual case: "every sequence of a fixed batch is classified
correctly at its end", run by the compiled forward pass :func:`~lstm1997.rnn.predict_rnn`.

Random numbers come only from the ``numpy.random.Generator`` passed in, one ``rng.uniform(low, high,
n_weights)`` call per guess (the present weights in row-major order), so the same generator state
gives the same guesses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .batch import Batch
from .rnn import RNN, RNNArchitecture, predict_rnn

__all__ = ["GuessResult", "EndTest", "guess"]


@dataclass(frozen=True)
class GuessResult:
    """Outcome of :func:`guess`.

    solved : whether some guess passed the test.
    guesses : guesses made, the successful one included (``max_guesses`` if none passed).
    net : the successful net, weights exactly as drawn (``None`` if none passed).
    """

    solved: bool
    guesses: int
    net: RNN | None


def _check_number(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _check_count(name: str, v, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def guess(arch: RNNArchitecture, test: Callable[[RNN], bool], rng: np.random.Generator, max_guesses: int,
          low: float = -100.0, high: float = 100.0, *, mask: np.ndarray | None = None,
          progress: Callable[[int], None] | None = None, progress_every: int = 10_000) -> GuessResult:
    """Random weight guessing (spec §7): up to ``max_guesses`` times, draw every present weight of a
    net with architecture ``arch`` uniformly from ``[low, high]`` and call ``test(net)``; stop at the
    first guess for which it returns true.

    Parameters
    ----------
    arch : the architecture; ``mask`` (optional, boolean like ``arch.mask()``) restricts the present
        weights to a subset of its connections. Absent weights are 0.
    test : ``test(net) -> bool``. For speed the same :class:`~lstm1997.rnn.RNN` object is passed at
        every guess with its weights overwritten in place; a test must not keep it or rely on it
        after returning. (Changes a test makes to ``net.W`` do not affect the result's net.)
    rng : the only source of random numbers: one ``rng.uniform(low, high, n_weights)`` per guess.
    max_guesses : the cap (>= 1).
    low, high : the interval (spec §7 companion work: [-100, 100]).
    progress : called as ``progress(guesses_so_far)`` every ``progress_every`` guesses.

    Returns
    -------
    GuessResult(solved, guesses, net): ``net`` is a fresh :class:`~lstm1997.rnn.RNN` with the weights
    of the successful guess exactly as drawn, or ``None``.
    """
    if not isinstance(arch, RNNArchitecture):
        raise TypeError(f"arch must be an lstm1997.rnn.RNNArchitecture, got {type(arch).__name__}")
    if not callable(test):
        raise TypeError("test must be a callable taking an RNN and returning a bool")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (no global RNG is used)")
    max_guesses = _check_count("max_guesses", max_guesses)
    low, high = _check_number("low", low), _check_number("high", high)
    if not low < high:
        raise ValueError(f"low must be smaller than high, got [{low}, {high}]")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable or None")
    progress_every = _check_count("progress_every", progress_every)

    shape = (arch.n_units, arch.n_src)
    net = RNN(arch, np.zeros(shape), mask)          # validates the mask
    m = net.mask
    n = net.n_weights
    if n == 0:
        raise ValueError("the net has no weights to guess")
    W = net.W
    for i in range(1, max_guesses + 1):
        w = rng.uniform(low, high, size=n)
        W[m] = w
        if test(net):
            found = np.zeros(shape)
            found[m] = w
            return GuessResult(True, i, RNN(arch, found, m))
        if progress is not None and i % progress_every == 0:
            progress(i)
    return GuessResult(False, max_guesses, None)


class EndTest:
    """``test(net)``: at most ``max_wrong`` sequences of ``batch`` misclassified at their end.

    A sequence is misclassified when some output's absolute error at its last step is not below
    ``tol`` (NaN and inf outputs count as wrong). Every sequence's last step must have a target.

    The batch is run in consecutive pieces of increasing size (``stages``, cumulative sequence
    counts, e.g. ``(4, 16, 64)`` then the rest; default ``(s0, 4 s0, 16 s0)`` with
    ``s0 = 2 (max_wrong + 1) + 2``): as soon as more than ``max_wrong`` sequences are wrong
    the test fails without running the others. The verdict is exactly that of running the whole
    batch; only the cost differs (most random nets fail on the first few sequences).

    ``sequences`` counts the sequences run so far (over all calls), ``calls`` the calls.
    """

    def __init__(self, batch: Batch, tol: float, max_wrong: int = 0, stages: tuple | None = None):
        if not isinstance(batch, Batch):
            raise TypeError(f"batch must be an lstm1997.Batch, got {type(batch).__name__}")
        tol = _check_number("tol", tol)
        if tol <= 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        self.tol = tol
        self.max_wrong = _check_count("max_wrong", max_wrong, 0)
        n = len(batch)
        if n < 1:
            raise ValueError("batch has no sequences")
        if np.any(batch.lengths < 1):
            raise ValueError("every sequence must have at least one step")
        d_end = batch.targets[batch.end_indices()]
        if not np.isfinite(d_end).all():
            raise ValueError("every sequence needs a target at its last step")
        if stages is None:   # a random net gets about every other sequence wrong: reject it early
            s0 = 2 * (self.max_wrong + 1) + 2
            stages = (s0, 4 * s0, 16 * s0)
        cuts = sorted({s for s in (_check_count("stage", s) for s in stages) if s < n}) + [n]
        self.pieces = []
        lo = 0
        for hi in cuts:
            sub = batch[lo:hi]
            self.pieces.append((sub, sub.end_indices(), d_end[lo:hi]))
            lo = hi
        self.n = n
        self.batch = batch
        self.sequences = 0
        self.calls = 0

    def __call__(self, net: RNN) -> bool:
        self.calls += 1
        bad = 0
        for sub, ends, d in self.pieces:
            Y = predict_rnn(net, sub)
            self.sequences += len(d)
            bad += int(np.count_nonzero(~(np.abs(Y[ends] - d) < self.tol).all(axis=1)))
            if bad > self.max_wrong:
                return False
        return True
