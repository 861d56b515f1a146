"""Experiment 3, noise and signal on the same channel: Bengio et al.'s 2-sequence problem and two
variants (Hochreiter & Schmidhuber 1997, Section 5.3, Tables 4-6; paper-spec §5.3).

Positions in this docstring are 1-based as in the paper (reading 17); arrays are 0-based.

Task 3a (Table 4). One real-valued input, one output. Each sequence belongs to class 1 or class 2,
each with probability 0.5. Its length is uniform over the integers ``T .. T + T//10`` (inclusive;
the paper's ``T/10`` is rounded down, so for ``T < 10`` every sequence has length exactly ``T``).
The first ``N`` elements (positions ``1..N``) carry the information: all are ``+1.0`` for class 1
and ``-1.0`` for class 2. Every element at a position ``t > N`` is Gaussian with mean 0 and variance
0.2 (standard deviation ``sqrt(0.2) ≈ 0.447``). The only target is at the last step: 1.0 for class 1,
0.0 for class 2; every other step has a NaN target. Correct classification: absolute error at the
end below 0.2.

Task 3b (Table 5). As 3a, but Gaussian noise with mean 0 and variance 0.2 is also added to the ``N``
informative elements (``input_noise=True``): they become ``±1 + noise``.

Task 3c (Table 6). As 3a (noise-free informative elements), but the targets are 0.2 for class 1 (the
class with inputs +1) and 0.8 for class 2 (``targets=(0.2, 0.8)``), and during training Gaussian
noise with mean 0 and variance 0.1 is added to each target (``target_noise_var=0.1``); the net has to
learn the conditional expectations 0.2 / 0.8. Test targets are the noise-free values
(``target_noise_var=0.0``); a sequence counts as misclassified if ``|output - noise-free target| > 0.1``.

The class of sequence ``i`` is recoverable from the generated batch without the noise: for 3a/3c it
is the sign of its first input (``+1``: class 1); in every variant the noise-free target is
``targets[0]`` (class 1) or ``targets[1]`` (class 2).

Parameters: ``T >= 1`` and ``1 <= N < T`` (integers), so at least one noise element precedes the
end. All functions draw only from the explicit ``numpy.random.Generator`` passed in and generate
all ``n`` sequences with vectorised numpy operations (no Python loop over steps or sequences).
"""

from __future__ import annotations

import math

import numpy as np

from ..batch import Batch

__all__ = ["two_sequence", "CLASS_TARGETS", "NOISE_VAR"]

#: Noise-free targets ``(class 1, class 2)`` per task (Section 5.3).
CLASS_TARGETS = {"3a": (1.0, 0.0), "3b": (1.0, 0.0), "3c": (0.2, 0.8)}

#: Variance of the Gaussian input noise (non-informative elements; in 3b also the informative ones).
NOISE_VAR = 0.2


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def two_sequence(rng: np.random.Generator, T: int, N: int, n: int, *, input_noise: bool = False,
                 targets=(1.0, 0.0), target_noise_var: float = 0.0) -> Batch:
    """``n`` sequences of the 2-sequence problem (Exp. 3, spec §5.3) with length parameter ``T`` and
    ``N`` informative elements.

    ``input_noise=True`` gives task 3b (noise of variance 0.2 also on the informative elements).
    ``targets`` are the end targets of class 1 (inputs +1) and class 2 (inputs -1): ``(1.0, 0.0)``
    for 3a/3b, ``(0.2, 0.8)`` for 3c (see :data:`CLASS_TARGETS`). ``target_noise_var > 0`` adds
    Gaussian noise of that variance to every target (3c training: 0.1).

    Returns a dense :class:`~lstm1997.Batch` with 1 input and 1 output; the target is NaN except at
    each sequence's last step.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    T = _check_int("T", T, 1)
    N = _check_int("N", N, 1)
    if N >= T:
        raise ValueError(f"N must be smaller than T (N={N}, T={T}): the informative elements must be "
                         "followed by noise")
    n = _check_int("n", n, 1)
    try:
        t1, t2 = (float(v) for v in targets)
    except (TypeError, ValueError):
        raise ValueError(f"targets must be a pair of numbers (class 1, class 2), got {targets!r}") from None
    if not (math.isfinite(t1) and math.isfinite(t2)):
        raise ValueError(f"targets must be finite, got {targets!r}")
    var = float(target_noise_var)
    if not math.isfinite(var) or var < 0.0:
        raise ValueError(f"target_noise_var must be a finite number >= 0, got {target_noise_var!r}")

    lengths = rng.integers(T, T + T // 10, size=n, endpoint=True)
    cls = rng.integers(0, 2, size=n)                      # 0: class 1 (+1), 1: class 2 (-1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    starts, ends = offsets[:-1], offsets[1:] - 1

    x = rng.normal(0.0, math.sqrt(NOISE_VAR), size=(total, 1))
    info = (np.repeat(starts, N) + np.tile(np.arange(N), n))  # positions 1..N of every sequence
    sign = np.repeat(1.0 - 2.0 * cls, N)
    if input_noise:
        x[info, 0] += sign                                 # 3b: ±1 plus the noise already drawn
    else:
        x[info, 0] = sign

    d = np.full((total, 1), np.nan)
    end_target = np.where(cls == 0, t1, t2)
    if var > 0.0:
        end_target = end_target + rng.normal(0.0, math.sqrt(var), size=n)
    d[ends, 0] = end_target
    return Batch(x, d, offsets)
