"""Random weight guessing on the tasks the 1997 paper says it solves quickly (Sections 1 and 5.3): Bengio's
2-sequence problem (tasks 3a/3b, Section 5.3) and a variant of Bengio & Frasconi's parity problem.

The paper itself has no numbers for guessing [P]: it states that guessing solves 3a/3b faster than
LSTM and than all published methods, and the parity variant faster than the methods Bengio &
Frasconi tested. The protocol below follows the authors' companion work on guessing (not verified
against the originals) where the paper is silent; every such reading is in docs/decisions.md (D34).

One trial (``GuessConfig`` defaults in brackets):

1. Draw the trial's fixed set of ``n_set`` sequences of the task [256 for 3a/3b, as the paper's ST1
   test set; 100 for parity, the companion work's training set].
2. Guess (:func:`lstm1997.guessing.guess`): draw every weight of the small fully recurrent net
   [A1: 1 input, 1 output, n = 1 hidden unit, all logistic, fully connected with the paper's
   timing: the hidden unit sees the input and both units at t-1, the output sees the input, itself
   at t-1 and the hidden unit at t; the hidden unit biased, the output not; 7 weights] uniformly
   from [-100, 100]; the guess *passes* when at most ``max_wrong`` sequences of the fixed set are
   misclassified (absolute end error not below ``tol``) [3a: 0 wrong, tol 0.2 (the paper's ST1);
   3b: fewer than 6, tol 0.2 (ST1 of 3b); parity: 0 wrong, tol 0.1 (companion work)].
3. Confirmation: a passing guess is tested once more with the same criterion on a fresh set of
   ``n_set`` sequences; only if it passes again is the task solved (a guess that was merely lucky
   on the fixed set is counted as a guess and rejected, and the search goes on).
4. Stop at the first confirmed guess or after ``max_guesses`` [1,000,000]. The trial reports the
   number of guesses (the successful one included), and for a solved trial the fraction
   misclassified and the mean absolute end error on ``final_size`` fresh sequences [2560, as the
   paper's Tables 4/5 after ST2].

Random streams: trial ``k`` of ``run_guessing(cfg, trials, seed)`` uses the child ``k`` of
``numpy.random.SeedSequence(seed).spawn(trials)`` (independent of ``trials``), split into four
streams: the fixed set, the weights, the confirmation sets, the final test set. No global RNG; the
same seed gives the same numbers.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ..batch import Batch
from ..guessing import EndTest, guess
from ..rnn import RNN, RNNArchitecture
from ..tasks.parity import parity
from ..tasks.two_sequence import two_sequence
from .protocol import evaluate

__all__ = ["GuessConfig", "run_guessing", "run_guessing_trial", "summarize_guessing", "reference",
           "PAPER_CLAIMS", "COMPANION_FIGURES", "ARCHITECTURES", "TASKS"]

#: task -> (tol, max_wrong, n_set): the success criterion on the fixed set.
_CRITERION = {
    "3a": (0.2, 0, 256),        # §5.3 ST1 of 3a: none of 256 misclassified, |end error| < 0.2
    "3b": (0.2, 5, 256),        # §5.3 ST1 of 3b: fewer than 6 of 256 misclassified
    "parity": (0.1, 0, 100),    # §7 [S] companion: all of 100 training sequences, |end error| < 0.1
}
TASKS = tuple(_CRITERION)

#: The small architectures of the companion work (docs/decisions.md, D34); see :meth:`GuessConfig.mask`.
ARCHITECTURES = {
    "A1": "fully recurrent, n hidden units (default 1): hidden units see the input and every unit at t-1, "
          "the output sees the input, itself at t-1 and the hidden units at t; hidden units biased, "
          "the output not",
    "A2": "n hidden units (default 10), each sees the input, itself and the output at t-1; the output sees "
          "the input and every hidden unit at t; every unit biased",
    "A2-noself": "A2 without the hidden units' self-connections",
}

#: What the 1997 paper says about guessing per task (no numbers in any table) [P].
PAPER_CLAIMS = {
    "3a": "guessing solves 3a faster than LSTM and all published methods (Section 5.3); no figure given. "
          "LSTM, Table 4: ST1 after 27,380 (T=100, N=3), 58,370 (T=100, N=1), 446,850 (T=1000, N=3) "
          "training sequences. A third-party claim of about 718 guesses for the 2-sequence problem is "
          "unverified (docs/decisions.md, D34)",
    "3b": "guessing solves 3b faster than LSTM (Section 5.3); no figure given. LSTM, Table 5: ST1 after "
          "41,740 (T=100, N=3), 74,950 (T=100, N=1), 481,060 (T=1000, N=1) training sequences",
    "parity": "guessing solves a variant of Bengio & Frasconi's parity problem faster than the seven methods "
              "they tested; no figure given",
}

#: Mean trials (guesses) until solved, from the companion work on guessing (unverified; docs/decisions.md, D34).
COMPANION_FIGURES = {
    ("parity", "A1", False): 2906,          # lengths 25..50, binary ±1 inputs, A1 with n = 1
    ("parity", "A2", False): 2797,
    ("parity", "A2-noself", False): 250,
    ("parity", "A1", True): 41_400,         # inputs with uniform noise in [-0.2, 0.2]
    ("latch I", None, False): 6,            # 40 runs; Bengio et al. 1994 report 1600 trials
    ("latch II", None, False): 22,
}


@dataclass(frozen=True)
class GuessConfig:
    """One row of random weight guessing. Defaults: the spec's values, [U]/[S] readings as marked."""

    task: str = "3a"                       # §7: guessing solves 3a, 3b (§5.3) and a parity variant
    T: int = 100                           # §5.3 Tables 4/5: length uniform in [T, T + T/10]
    N: int = 3                             # §5.3 Tables 4/5: informative elements at the start
    min_length: int = 25                   # §7 [S] parity: lengths 25..50
    max_length: int = 50                   # §7 [S]
    parity_noise: float = 0.0              # §7 [S] noisy parity variant: uniform noise in [-0.2, 0.2]
    arch: str = "A1"                       # §7 [S] small architectures A1/A2; [U] which per task: A1
    hidden: int | None = None              # §7 [S] A1's n (None: 1); A2: 10
    output_bias: bool | None = None        # [U] None: A1 output unbiased ("each hidden unit has a bias"), A2 biased
    low: float = -100.0                    # §7 [S] weights uniform in [-100, 100]
    high: float = 100.0                    # §7 [S]
    n_set: int | None = None               # fixed set per trial; None: 256 (3a/3b ST1), 100 (parity [S])
    tol: float | None = None               # correct: |end error| < tol; None: 0.2 (§5.3), 0.1 (parity [S])
    max_wrong: int | None = None           # None: 0 (3a), 5 (3b: "fewer than 6"), 0 (parity)
    confirm: bool = True                   # [U] a passing guess must pass a fresh set of n_set too
    final_size: int = 2560                 # §5.3: fraction misclassified on 2560 fresh sequences
    max_guesses: int = 1_000_000           # [U] cap; not stated anywhere

    def __post_init__(self) -> None:
        if self.task not in _CRITERION:
            raise ValueError(f"task must be one of {list(_CRITERION)}, got {self.task!r}")
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {list(ARCHITECTURES)}, got {self.arch!r}")
        for name, lo in (("T", 1), ("N", 1), ("min_length", 1), ("max_length", 1), ("final_size", 1),
                         ("max_guesses", 1)):
            _int(name, getattr(self, name), lo)
        for name, lo in (("hidden", 1), ("n_set", 1), ("max_wrong", 0)):
            if getattr(self, name) is not None:
                _int(name, getattr(self, name), lo)
        if self.task in ("3a", "3b") and self.N >= self.T:
            raise ValueError(f"N must be smaller than T (N={self.N}, T={self.T})")
        if self.max_length < self.min_length:
            raise ValueError(f"max_length ({self.max_length}) must be >= min_length ({self.min_length})")
        if not (isinstance(self.parity_noise, (int, float)) and 0.0 <= self.parity_noise < 1.0):
            raise ValueError(f"parity_noise must be in [0, 1), got {self.parity_noise!r}")
        if not (_finite(self.low) and _finite(self.high) and self.low < self.high):
            raise ValueError(f"need finite low < high, got [{self.low!r}, {self.high!r}]")
        if self.tol is not None and not (_finite(self.tol) and self.tol > 0):
            raise ValueError(f"tol must be a positive number, got {self.tol!r}")
        if not isinstance(self.confirm, bool):
            raise ValueError(f"confirm must be True or False, got {self.confirm!r}")
        if self.output_bias not in (None, True, False):
            raise ValueError(f"output_bias must be None, True or False, got {self.output_bias!r}")

    # ---- the readings, resolved -------------------------------------------------------------
    @property
    def n_hidden(self) -> int:
        return self.hidden if self.hidden is not None else (1 if self.arch == "A1" else 10)

    @property
    def set_size(self) -> int:
        return self.n_set if self.n_set is not None else _CRITERION[self.task][2]

    @property
    def tolerance(self) -> float:
        return float(self.tol) if self.tol is not None else _CRITERION[self.task][0]

    @property
    def wrong_allowed(self) -> int:
        return self.max_wrong if self.max_wrong is not None else _CRITERION[self.task][1]

    def architecture(self) -> RNNArchitecture:
        """The net guessed: 1 input, 1 output, ``n_hidden`` logistic hidden units, the 1997 timing
        (hidden units read the units at t-1, the output reads the hidden units at t), restricted to
        the companion architecture's connections by :meth:`mask`."""
        return RNNArchitecture(n_in=1, n_out=1, hidden=self.n_hidden, kind="full-now", bias=True)

    def mask(self) -> np.ndarray:
        """Which weights of :meth:`architecture` are present (see :data:`ARCHITECTURES`).

        A1: hidden unit i sees x(t), every unit (hidden and output) at t-1 and its bias; the output
        sees x(t), itself at t-1 and every hidden unit at t (no bias unless ``output_bias``).
        A2: hidden unit i sees x(t), itself and the output at t-1 and its bias; the output sees x(t),
        every hidden unit at t and its bias. A2-noself: A2 without the hidden self-connections.
        """
        a = self.architecture()
        H = a.hidden                                   # the output is unit H (the last unit)
        m = np.zeros((a.n_units, a.n_src), dtype=bool)
        m[:, a.cols_in] = True                         # every unit sees the input x(t)
        prev = m[:, a.cols_prev]                       # views into m
        now = m[:, a.cols_now]
        if self.arch == "A1":
            prev[:H, :] = True                         # hidden units see every unit at t-1
            prev[H, H] = True                          # the output sees itself at t-1
        else:
            if self.arch == "A2":
                prev[np.arange(H), np.arange(H)] = True    # hidden unit i sees itself at t-1
            prev[:H, H] = True                         # hidden units see the output at t-1
        now[H, :H] = True                              # the output sees every hidden unit at t
        m[:H, a.col_bias] = True
        m[H, a.col_bias] = self.output_bias if self.output_bias is not None else self.arch != "A1"
        return m

    def n_weights(self) -> int:
        return int(self.mask().sum())

    def sample(self, rng: np.random.Generator, n: int) -> Batch:
        """``n`` sequences of the task (targets noise-free)."""
        if self.task == "parity":
            return parity(rng, n, self.min_length, self.max_length, noise=self.parity_noise)
        return two_sequence(rng, self.T, self.N, n, input_noise=self.task == "3b")

    def net_from(self, result: dict) -> RNN:
        """The net a solved trial found (from its ``"W"``)."""
        if not result.get("solved"):
            raise ValueError("the trial found no net")
        return RNN(self.architecture(), np.asarray(result["W"], dtype=np.float64), self.mask())

    def describe(self) -> str:
        task = (f"parity, lengths {self.min_length}..{self.max_length}"
                + (f", noise ±{self.parity_noise}" if self.parity_noise else "")
                if self.task == "parity" else f"{self.task}, T={self.T}, N={self.N}")
        confirm = ", confirmed on a fresh set" if self.confirm else ""
        return (f"{task}; {self.arch} (n={self.n_hidden}, {self.n_weights()} weights) in "
                f"[{self.low:g}, {self.high:g}]; solved = at most {self.wrong_allowed} of {self.set_size} "
                f"wrong (|end error| >= {self.tolerance:g}){confirm}")


def _int(name, v, lo) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _finite(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


def run_guessing_trial(cfg: GuessConfig, seed_seq: np.random.SeedSequence) -> dict:
    """One trial (module docstring) from its own ``SeedSequence``; a JSON-able dict."""
    s_set, s_guess, s_confirm, s_final = seed_seq.spawn(4)
    tol, allowed, n_set = cfg.tolerance, cfg.wrong_allowed, cfg.set_size
    fixed = EndTest(cfg.sample(np.random.default_rng(s_set), n_set), tol, allowed)
    rng_confirm = np.random.default_rng(s_confirm)
    extra = {"rejected": 0, "sequences": 0}

    def test(net: RNN) -> bool:
        if not fixed(net):
            return False
        if not cfg.confirm:
            return True
        check = EndTest(cfg.sample(rng_confirm, n_set), tol, allowed)
        ok = check(net)
        extra["sequences"] += check.sequences
        extra["rejected"] += not ok
        return ok

    t0 = time.perf_counter()
    res = guess(cfg.architecture(), test, np.random.default_rng(s_guess), cfg.max_guesses, cfg.low, cfg.high,
                mask=cfg.mask())
    seconds = time.perf_counter() - t0
    out = {"solved": res.solved, "guesses": res.guesses, "seconds": seconds,
           "guesses_per_second": res.guesses / seconds if seconds > 0 else math.nan,
           "rejected": extra["rejected"], "sequences": fixed.sequences + extra["sequences"],
           "weights": cfg.n_weights()}
    if res.solved:
        r = evaluate(res.net, cfg.sample(np.random.default_rng(s_final), cfg.final_size), tol)
        out.update({"test_fraction": r["wrong"] / r["total"], "test_mae": r["mae"],
                    "W": res.net.W.tolist()})
    return out


def run_guessing(cfg: GuessConfig, trials: int, seed: int,
                 progress: Callable[[int, dict], None] | None = None) -> list[dict]:
    """``trials`` independent guessing trials of ``cfg``; trial ``k`` uses child ``k`` of
    ``SeedSequence(seed).spawn(trials)``. Returns per trial ``{"trial", "solved", "guesses",
    "seconds", "guesses_per_second", "rejected", "sequences", "weights"}`` and, if solved,
    ``"test_fraction"``, ``"test_mae"`` (on ``final_size`` fresh sequences) and ``"W"`` (the net's
    weights; :meth:`GuessConfig.net_from` rebuilds it). ``progress(k, result)`` after each trial."""
    if not isinstance(cfg, GuessConfig):
        raise TypeError(f"cfg must be a GuessConfig, got {type(cfg).__name__}")
    trials = _int("trials", trials, 1)
    seed = _int("seed", seed, 0)
    if progress is not None and not callable(progress):
        raise TypeError("progress must be callable or None")
    results = []
    for k, ss in enumerate(np.random.SeedSequence(seed).spawn(trials)):
        r = {"trial": k, **run_guessing_trial(cfg, ss)}
        results.append(r)
        if progress is not None:
            progress(k, r)
    return results


def summarize_guessing(results: list[dict]) -> dict:
    """Over trials: how many were solved, and guesses until solved (solved trials only) as mean,
    median, std, min, max; guesses per second over all trials; mean test fraction misclassified."""
    if not results:
        raise ValueError("no results to summarize")
    ok = [r for r in results if r["solved"]]
    g = [r["guesses"] for r in ok]
    total_s = sum(r["seconds"] for r in results)
    fr = [r["test_fraction"] for r in ok]
    return {
        "trials": len(results), "solved": len(ok), "success_rate": len(ok) / len(results),
        "guesses_mean": statistics.fmean(g) if g else None,
        "guesses_median": statistics.median(g) if g else None,
        "guesses_std": statistics.pstdev(g) if g else None,
        "guesses_min": min(g) if g else None, "guesses_max": max(g) if g else None,
        "sequences_mean": statistics.fmean(r["sequences"] for r in ok) if ok else None,
        "rejected": sum(r["rejected"] for r in results),
        "test_fraction_mean": statistics.fmean(fr) if fr else None,
        "seconds": total_s,
        "guesses_per_second": sum(r["guesses"] for r in results) / total_s if total_s > 0 else None,
    }


def reference(cfg: GuessConfig) -> dict:
    """What to print beside ours: the companion work's mean trials for this setting, if it has one
    (``guesses_mean``, [S] unverified), and the 1997 paper's claim (no figure) [P]."""
    key = (cfg.task, cfg.arch, cfg.parity_noise > 0)
    fig = COMPANION_FIGURES.get(key) if cfg.task == "parity" else None
    comparable = (fig is not None and cfg.min_length == 25 and cfg.max_length == 50
                  and cfg.parity_noise in (0.0, 0.2) and cfg.n_hidden == (1 if cfg.arch == "A1" else 10)
                  and (cfg.low, cfg.high) == (-100.0, 100.0) and cfg.output_bias is None)
    return {"guesses_mean": fig if comparable else None,
            "source": "companion work on guessing (unverified; docs/decisions.md, D34)" if comparable else None,
            "paper": PAPER_CLAIMS[cfg.task],
            "config": asdict(cfg)}
