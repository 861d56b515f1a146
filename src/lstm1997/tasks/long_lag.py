"""Experiment 2, noise-free and noisy sequences with long time lags (Hochreiter & Schmidhuber 1997,
Section 5.2, Tables 2 and 3; paper-spec §5.2 and §9 readings 11, 12, 16, 17).

Positions in this docstring are 1-based as in the paper (reading 17); arrays are 0-based.
Every task is returned as a one-hot :class:`~lstm1997.Batch` (``Batch.one_hot``: one symbol index
per step), since 2c has up to 1004 inputs.

Task 2a, noise-free long time lag (:func:`noise_free`, Table 2). The alphabet has ``p+1`` symbols
``a_1 .. a_{p-1}, a_p = x, a_{p+1} = y``, coded one-hot in ``p+1`` dimensions: ``a_i`` (``i = 1..p-1``)
is index ``i-1``, ``x`` is index ``p-1`` and ``y`` is index ``p``. There are only two sequences,
``(y, a_1, ..., a_{p-1}, y)`` and ``(x, a_1, ..., a_{p-1}, x)``, each drawn with probability 0.5;
both have ``p+1`` elements. The input is the first ``p`` elements and the target at every step is
the one-hot code of the next element (``p`` targets, ``p+1`` outputs). The last target, x or y, equals
the first input, ``p`` steps earlier. ``p >= 2``.

Task 2b, no local regularities (:func:`random_middle`). As 2a, but the middle ``p-1`` elements are
``a_{i_1}, ..., a_{i_{p-1}}`` with every index drawn independently and uniformly from ``1..p-1``;
the class (x or y, first and last element) is again drawn with probability 0.5. Every next symbol is
still a target, but only the last one is predictable.

Task 2c, very long time lags (:func:`very_long_lag`, Table 3). The alphabet has ``p+4`` symbols:
distractors ``a_1 .. a_p`` (indices ``0 .. p-1``), the trigger ``e = a_{p+1}`` (index ``p``), the start
symbol ``b = a_{p+2}`` (index ``p+1``), ``x = a_{p+3}`` (index ``p+2``) and ``y = a_{p+4}`` (index
``p+3``); ``p+4`` inputs, 2 outputs. A sequence is built as follows: ``b``; then the class, x or y,
with probability 0.5 each; then ``q`` distractors; then, repeatedly, with probability 9/10 one more
distractor, otherwise ``e`` and stop. Every distractor is uniform over ``a_1 .. a_p``. The paper's
final element, x or y again, is not an input: the input is the sequence up to and including ``e``, and
the only target is at that last step, the one-hot class over the 2 outputs: ``(1, 0)`` for x,
``(0, 1)`` for y (reading 16); every other step has NaN targets. With ``k`` the number of extra
distractors, ``P(k) = 0.9^k * 0.1`` (``k = 0, 1, ...``, mean 9), the input length is ``q + k + 3``
(minimum ``q + 3``; the paper's full sequence, including the final x/y, has ``q + k + 4``
elements). The minimal lag between the class and its prediction is ``q + 1`` steps.

Two things in the paper's 2c text are not followed literally. (i) Its set notation gives the
distractor indices as ``1 <= i <= q``; that is taken as a typo for ``<= p`` (reading 11): only ``p``
distractors exist, and ``p < q`` in the lower half of Table 3. (ii) It states an expected sequence
length of ``q + 14``, but the procedure (and its own formula) gives ``q + 13`` for the full sequence,
``q + 12`` inputs. The procedure is implemented as described; no expected length is forced
(reading 12).

All functions draw only from the explicit ``numpy.random.Generator`` passed in and generate all ``n``
sequences with vectorised numpy operations (no Python loop over steps or sequences).
"""

from __future__ import annotations

import numpy as np

from ..batch import Batch

__all__ = ["noise_free", "random_middle", "very_long_lag"]


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def _next_symbol_batch(seq: np.ndarray, n_sym: int) -> Batch:
    """2a/2b: ``seq (n, p+1)`` full sequences; input the first p, target the one-hot next symbol."""
    n, p1 = seq.shape
    p = p1 - 1
    symbols = seq[:, :-1].reshape(-1)
    nxt = seq[:, 1:].reshape(-1)
    targets = np.zeros((nxt.size, n_sym))
    targets[np.arange(nxt.size), nxt] = 1.0
    offsets = np.arange(n + 1, dtype=np.int64) * p
    return Batch.one_hot(symbols, n_sym, targets, offsets)


def _two_ab(rng, p, n, random: bool) -> Batch:
    _check_rng(rng)
    p = _check_int("p", p, 2)
    n = _check_int("n", n, 1)
    cls = rng.integers(0, 2, size=n)                       # 0: x (index p-1), 1: y (index p)
    seq = np.empty((n, p + 1), dtype=np.int64)
    if random:
        seq[:, 1:p] = rng.integers(0, p - 1, size=(n, p - 1))   # a_1..a_{p-1} -> 0..p-2
    else:
        seq[:, 1:p] = np.arange(p - 1)
    seq[:, 0] = seq[:, p] = p - 1 + cls
    return _next_symbol_batch(seq, p + 1)


def noise_free(rng: np.random.Generator, p: int, n: int = 1) -> Batch:
    """``n`` task-2a sequences (Section 5.2, Table 2): ``(c, a_1, ..., a_{p-1}, c)``, ``c`` = x or y.

    Returns a one-hot :class:`~lstm1997.Batch` with ``p+1`` inputs, ``p+1`` outputs and ``p`` steps per
    sequence; the target at every step is the one-hot next symbol. The class of sequence ``i`` is its
    first symbol, ``batch.symbols[batch.offsets[i]]`` (``p-1`` for x, ``p`` for y).
    """
    return _two_ab(rng, p, n, random=False)


def random_middle(rng: np.random.Generator, p: int, n: int = 1) -> Batch:
    """``n`` task-2b sequences (Section 5.2): as :func:`noise_free` but the ``p-1`` middle symbols are
    uniform over ``a_1 .. a_{p-1}`` (indices ``0 .. p-2``), independently per position."""
    return _two_ab(rng, p, n, random=True)


def very_long_lag(rng: np.random.Generator, p: int, q: int, n: int = 1) -> Batch:
    """``n`` task-2c sequences (Section 5.2, Table 3) with ``p`` distractor symbols and ``q`` fixed
    distractors after the class.

    Returns a one-hot :class:`~lstm1997.Batch` with ``p+4`` inputs and 2 outputs. Sequence ``i`` is
    ``b, c, (q + k_i distractors), e`` with ``c`` in {x, y} and ``P(k_i) = 0.9^k 0.1``; its only target is
    at the last step (where ``e`` is read): ``(1, 0)`` for x, ``(0, 1)`` for y. The class is the
    second symbol, ``batch.symbols[batch.offsets[i] + 1]`` (``p+2`` for x, ``p+3`` for y).
    """
    _check_rng(rng)
    p = _check_int("p", p, 1)
    q = _check_int("q", q, 0)
    n = _check_int("n", n, 1)
    cls = rng.integers(0, 2, size=n)                       # 0: x, 1: y
    k = rng.geometric(0.1, size=n) - 1                     # extra distractors, P(k) = 0.9^k * 0.1
    lengths = q + 3 + k
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    symbols = rng.integers(0, p, size=total, dtype=np.int64)    # distractors a_1..a_p -> 0..p-1
    starts, ends = offsets[:-1], offsets[1:] - 1
    symbols[starts] = p + 1                                # b
    symbols[starts + 1] = p + 2 + cls                      # x or y
    symbols[ends] = p                                      # e
    targets = np.full((total, 2), np.nan)
    targets[ends] = 0.0
    targets[ends, cls] = 1.0
    return Batch.one_hot(symbols, p + 4, targets, offsets)
