"""Experiment 1, the embedded Reber grammar (Hochreiter & Schmidhuber 1997, Section 5.1, Table 1;
paper-spec §5.1 and §9 readings 1 and 21).

Alphabet. Seven symbols ``SYMBOLS = "BTPSXVE"``; symbol ``SYMBOLS[i]`` is input unit ``i`` and output
unit ``i`` (local, one-hot coding: 7 inputs, 7 outputs).

Reber grammar (Cleeremans, Servan-Schreiber & McClelland 1989; the paper's Figure 3 is an image, the
graph below is the standard one that the paper cites and that gives its minimal length of 9; spec
§5.1 [S]). A Reber string is ``B``, then a walk from node ``n1`` to ``end``, then ``E``::

    n1 -T-> n2 | n1 -P-> n3
    n2 -S-> n2 | n2 -X-> n4
    n3 -T-> n3 | n3 -V-> n5
    n4 -X-> n3 | n4 -S-> end
    n5 -P-> n4 | n5 -V-> end

Every node has exactly two outgoing edges, each taken with probability 0.5 (Section 5.1: "where
there is a choice, each branch has probability 0.5"). The walk is deterministic given the symbols
(the two edges of a node carry different symbols). Examples: ``BTSSXXTVVE``, ``BPVVE``, ``BTXXVPSE``.
The shortest Reber strings have 5 symbols (``BTXSE``, ``BPVVE``); the mean length is 8.

Embedded Reber grammar (Figure 4). An embedded string is ``B, c, <Reber string>, c, E`` where ``c``
is ``T`` or ``P`` with probability 0.5 each and both ``c`` are the same symbol. Minimal length 9
(e.g. ``BTBTXSETE``); mean length 12. To predict the symbol before last, the net must remember the
2nd symbol (reading 21: 9 is the minimal string length; the lag between reading the 2nd symbol and
predicting its twin is shorter, 6 steps in ``BTBTXSETE``).

Encoding (:func:`encode`). A string ``s`` of length ``n`` gives ``n - 1`` time steps: the input at step
``t`` is ``s[t]`` (``t = 0 .. n-2``; the final ``E`` is never an input) and the target at step ``t`` is
the one-hot code of the actual next symbol ``s[t+1]`` (reading 1(a)); so every step has a target.
With reading 1(b) (``onehot=False``) the target is instead the multi-hot code of all legal successors.

Success test (:func:`all_correct`, :func:`count_errors`; Section 5.1 and reading 1). At every step let
``L`` be the set of legal successors of the prefix read so far (``|L| = k``, 1 or 2; see
:func:`legal_successors`). The step is correct iff the ``k`` most active outputs are exactly ``L``,
implemented as ``min(outputs[L]) > max(outputs[not L])``: strict, so a tie counts as wrong (and so
does a NaN output). The first step (after ``B``: ``T`` or ``P``) and the second-to-last step (its only
legal successor is the ``c`` seen at position 2) are included. A trial succeeds when every step of
every string of both the training and the test set is correct.

Data (:func:`make_datasets`; Section 5.1 following Fahlman 1991). A training set of 256 strings drawn
at random (duplicates allowed: about 100 distinct strings) and a test set of 256 random strings none
of which occurs in the training set (drawn until 256 such strings are found; duplicates among the
test strings allowed).

All random functions draw only from the explicit ``numpy.random.Generator`` passed in. Positions in
this docstring ("position 2") are 1-based as in the paper; arrays and string indices are 0-based.
"""

from __future__ import annotations

import re

import numpy as np

from ..batch import Batch

__all__ = ["SYMBOLS", "REBER_GRAMMAR", "reber_string", "embedded_reber_string", "is_reber",
           "is_embedded_reber", "legal_successors", "make_datasets", "encode", "correct_steps",
           "all_correct", "count_errors"]

#: The seven symbols; ``SYMBOLS[i]`` is input and output unit ``i``.
SYMBOLS = "BTPSXVE"
_INDEX = {c: i for i, c in enumerate(SYMBOLS)}

#: Transition table of the (inner) Reber grammar: node -> ((symbol, next node), (symbol, next node)).
#: Walks start at ``"n1"`` and stop at ``"end"``; each edge has probability 0.5.
REBER_GRAMMAR = {
    "n1": (("T", "n2"), ("P", "n3")),
    "n2": (("S", "n2"), ("X", "n4")),
    "n3": (("T", "n3"), ("V", "n5")),
    "n4": (("X", "n3"), ("S", "end")),
    "n5": (("P", "n4"), ("V", "end")),
}

# Acceptor, written as a regular expression derived by hand from the graph (independent of the
# transition table used by the generator, so that tests can check one against the other):
#   from n3: T* V, then n5: V (end) or P -> n4;  from n4: S (end) or X -> n3
#   => n3 = (T*VPX)* T*V(V|PS);  n4 = S | X n3;  Reber = B (T S* X n4 | P n3) E
_N3 = r"(?:T*VPX)*T*V(?:V|PS)"
_N4 = r"(?:S|X" + _N3 + r")"
_REBER = r"B(?:TS*X" + _N4 + r"|P" + _N3 + r")E"
_REBER_RE = re.compile(_REBER)
_EMBEDDED_RE = re.compile(r"B(?:T" + _REBER + r"T|P" + _REBER + r"P)E")


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")


def _reber_path(rng: np.random.Generator) -> str:
    node, out = "n1", []
    while node != "end":
        symbol, node = REBER_GRAMMAR[node][int(rng.integers(2))]
        out.append(symbol)
    return "".join(out)


def reber_string(rng: np.random.Generator) -> str:
    """A random Reber string: ``B`` + a random walk n1 -> end (every branch p = 0.5) + ``E``."""
    _check_rng(rng)
    return "B" + _reber_path(rng) + "E"


def embedded_reber_string(rng: np.random.Generator) -> str:
    """A random embedded Reber string ``B c <Reber string> c E``, ``c`` = T or P with p = 0.5 each."""
    _check_rng(rng)
    c = "TP"[int(rng.integers(2))]
    return "B" + c + reber_string(rng) + c + "E"


def is_reber(s: str) -> bool:
    """Whether ``s`` is a (complete) Reber string."""
    return isinstance(s, str) and _REBER_RE.fullmatch(s) is not None


def is_embedded_reber(s: str) -> bool:
    """Whether ``s`` is a (complete) embedded Reber string (acceptor independent of the generator)."""
    return isinstance(s, str) and _EMBEDDED_RE.fullmatch(s) is not None


def _next_state(state, symbol: str):
    """One step of the deterministic automaton of the embedded grammar; ``None`` if ``symbol`` is illegal.

    States: ``("start",)`` expects B; ``("c",)`` expects T/P; ``("B", c)`` expects the inner B;
    ``(node, c)`` inside the Reber walk; ``("E", c)`` expects the inner E; ``("c_end", c)`` expects
    ``c``; ``("E_end",)`` expects the final E; ``("done",)`` expects nothing.
    """
    kind = state[0]
    if kind == "start":
        return ("c",) if symbol == "B" else None
    if kind == "c":
        return ("B", symbol) if symbol in ("T", "P") else None
    if kind == "B":
        return ("n1", state[1]) if symbol == "B" else None
    if kind in REBER_GRAMMAR:
        for sym, nxt in REBER_GRAMMAR[kind]:
            if sym == symbol:
                return ("E", state[1]) if nxt == "end" else (nxt, state[1])
        return None
    if kind == "E":
        return ("c_end", state[1]) if symbol == "E" else None
    if kind == "c_end":
        return ("E_end",) if symbol == state[1] else None
    if kind == "E_end":
        return ("done",) if symbol == "E" else None
    return None


def _legal_from(state) -> tuple:
    kind = state[0]
    if kind in REBER_GRAMMAR:
        return tuple(sym for sym, _ in REBER_GRAMMAR[kind])
    if kind == "c_end":
        return (state[1],)
    return {"start": ("B",), "c": ("T", "P"), "B": ("B",), "E": ("E",), "E_end": ("E",), "done": ()}[kind]


def legal_successors(s: str) -> np.ndarray:
    """Legal next symbols after every prefix of ``s`` under the embedded grammar.

    ``s`` must be a non-empty prefix of an embedded Reber string (a complete string included).
    Returns bool ``(len(s) - 1, 7)``: row ``t`` (``t = 0 .. len(s)-2``) marks the symbols that may
    legally follow ``s[:t+1]`` (one or two per row). At the second-to-last step of a complete string
    the only legal successor is ``s[1]``, the T/P seen at position 2.
    """
    if not isinstance(s, str) or not s:
        raise ValueError(f"s must be a non-empty string, got {s!r}")
    out = np.zeros((len(s) - 1, len(SYMBOLS)), dtype=bool)
    state = ("start",)
    for t, symbol in enumerate(s):
        if symbol not in _INDEX:
            raise ValueError(f"{s!r}: symbol {symbol!r} at index {t} is not one of {SYMBOLS!r}")
        state = _next_state(state, symbol)
        if state is None:
            raise ValueError(f"{s!r} is not a prefix of an embedded Reber string (illegal {symbol!r} at index {t})")
        if t < len(s) - 1:
            out[t, [_INDEX[c] for c in _legal_from(state)]] = True
    return out


def make_datasets(rng: np.random.Generator, n_train: int = 256, n_test: int = 256) -> tuple[list, list]:
    """Random training and test sets of embedded Reber strings (Section 5.1).

    ``train``: ``n_train`` independent random strings (duplicates allowed). ``test``: ``n_test``
    random strings none of which occurs in ``train``, drawn until ``n_test`` such strings are found
    (a drawn string that occurs in ``train`` is discarded; duplicates among test strings allowed).
    """
    _check_rng(rng)
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    train = [embedded_reber_string(rng) for _ in range(int(n_train))]
    seen = set(train)
    test = []
    while len(test) < n_test:
        s = embedded_reber_string(rng)
        if s not in seen:
            test.append(s)
    return train, test


def encode(strings, onehot: bool = True) -> tuple[Batch, np.ndarray]:
    """The batch of complete embedded Reber strings and its legal-successor mask.

    Each string ``s`` gives ``len(s) - 1`` steps: inputs ``s[0] .. s[-2]`` (a one-hot
    :class:`~lstm1997.Batch` with 7 inputs, one symbol index per step; the final ``E`` is no input)
    and 7 outputs. Targets: with ``onehot=True`` (reading 1(a), the default) the one-hot code of the
    actual next symbol ``s[t+1]``; with ``onehot=False`` (reading 1(b)) the multi-hot code of all
    legal successors. Every step has a target. Also returns the bool mask ``(batch.n_steps, 7)`` of
    legal successors, row-aligned with the batch (see :func:`legal_successors`).
    """
    if isinstance(strings, str):
        raise TypeError("strings must be a list of strings, not a single string")
    strings = list(strings)
    if not strings:
        raise ValueError("no strings")
    for s in strings:
        if not is_embedded_reber(s):
            raise ValueError(f"{s!r} is not an embedded Reber string")
    codes = [np.fromiter((_INDEX[c] for c in s), dtype=np.int64, count=len(s)) for s in strings]
    symbols = np.concatenate([c[:-1] for c in codes])
    nxt = np.concatenate([c[1:] for c in codes])
    offsets = np.concatenate([[0], np.cumsum([len(s) - 1 for s in strings])]).astype(np.int64)
    legal = np.concatenate([legal_successors(s) for s in strings])
    if onehot:
        targets = np.zeros((symbols.size, len(SYMBOLS)))
        targets[np.arange(symbols.size), nxt] = 1.0
    else:
        targets = legal.astype(np.float64)
    return Batch.one_hot(symbols, len(SYMBOLS), targets, offsets), legal


def correct_steps(outputs, legal) -> np.ndarray:
    """Bool ``(steps,)``: step ``t`` is correct iff ``min(outputs[t, L]) > max(outputs[t, not L])``
    with ``L = legal[t]`` (the ``|L|`` most active outputs are exactly ``L``; ties and NaN are wrong)."""
    y = np.asarray(outputs, dtype=np.float64)
    m = np.asarray(legal, dtype=bool)
    if y.ndim != 2 or y.shape != m.shape or y.shape[1] != len(SYMBOLS):
        raise ValueError(f"outputs {y.shape} and legal {m.shape} must both have shape (steps, {len(SYMBOLS)})")
    if not m.any(axis=1).all():
        raise ValueError("every row of legal must mark at least one symbol")
    lo = np.where(m, y, np.inf).min(axis=1)
    hi = np.where(m, -np.inf, y).max(axis=1)
    return lo > hi


def all_correct(outputs, legal) -> bool:
    """Whether every step is correct (Section 5.1 success test; see :func:`correct_steps`)."""
    return bool(correct_steps(outputs, legal).all())


def count_errors(outputs, legal, offsets) -> int:
    """Number of strings (``offsets`` as in :class:`~lstm1997.Batch`) with at least one wrong step."""
    wrong = ~correct_steps(outputs, legal)
    o = np.asarray(offsets, dtype=np.int64)
    if o.ndim != 1 or o.size < 1 or o[0] != 0 or o[-1] != wrong.size or np.any(np.diff(o) < 0):
        raise ValueError("offsets must start at 0, be non-decreasing and end at the number of steps")
    c = np.concatenate([[0], np.cumsum(wrong)])
    return int(np.count_nonzero(c[o[1:]] - c[o[:-1]]))
