"""Bad and odd calls of the Python API (issue 19, item 5): the estimator and the PyTorch module.

The rule: a call raises ``ValueError`` or ``TypeError`` (scikit-learn's kinds) with a one-line message, or
succeeds with finite outputs; never another exception (IndexError, a matmul RuntimeError, OverflowError,
MemoryError), a NaN/inf result, or a ComplexWarning that drops data.

    python tests/fuzz_api.py      # prints the problems, exit 1 if any
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

_RNG = np.random.default_rng(20261207)
X = [_RNG.uniform(-1, 1, (5, 2)) for _ in range(6)]
Y = _RNG.uniform(0, 1, 6)


def _est(**kw):
    from lstm1997.estimator import LSTMRegressor

    return LSTMRegressor(epochs=1, blocks=1, cells=1, random_state=0, **kw)


def _fitted(**kw):
    return _est(**kw).fit(X, Y)


def _changed_then_partial(param, value):
    e = _fitted()
    e.set_params(**{param: value})
    return e.partial_fit(X, Y)


def _estimator_cases() -> list:
    c = []
    for name, x in [("X complex", [x + 1j for x in X]), ("X complex 3-D array", np.array(X) + 0j),
                    ("X strings", [np.array([["a", "b"]])] * 6), ("X None inside", [np.array([[1.0, None]])] * 6),
                    ("X datetime", [np.array([["2020-01-01"] * 2], dtype="datetime64[D]")] * 6),
                    ("X object of dicts", [np.array([[{}, {}]], dtype=object)] * 6), ("X nan", [x * np.nan for x in X]),
                    ("X inf", [x * np.inf for x in X]), ("X empty list", []), ("X 1-D sequences", [x[:, 0] for x in X]),
                    ("X 4-D", np.zeros((6, 5, 2, 1))), ("X 0 features", [np.zeros((5, 0))] * 6),
                    ("X ragged features", [np.zeros((5, 2))] * 5 + [np.zeros((5, 3))]), ("X a string", "abc"),
                    ("X a number", 3.0), ("X huge values", [x * 1e308 for x in X])]:
        c.append((f"fit: {name}", lambda x=x: _est().fit(x, Y)))
    for name, y in [("y complex", Y + 1j), ("y strings", np.array(["1"] * 6)), ("y nan", Y * np.nan),
                    ("y inf", Y * np.inf), ("y huge range", np.array([-1e308, 1e308, 0, 1, 2, 3.0])),
                    ("y wrong length", Y[:3]), ("y 3-D wrong", np.zeros((6, 5, 1, 1))), ("y None", None),
                    ("y object", np.array([1, "a", 2, 3, 4, 5], dtype=object)),
                    ("y datetime", np.array(["2020-01-01"] * 6, dtype="datetime64[D]")),
                    ("y bool", np.array([True, False] * 3)), ("y per-step wrong steps", [np.zeros((4, 1))] * 6),
                    ("y tiny range", np.array([0, 5e-324, 0, 5e-324, 0, 0])), ("y constant", np.full(6, 7.0))]:
        c.append((f"fit: {name}", lambda y=y: _est().fit(X, y)))
    for p, vals in [("blocks", [0, -1, 1.5, True, "2", 10 ** 9]), ("cells", [0, None, 2 ** 70]),
                    ("lr", [0, -1, np.nan, np.inf, "0.1", True, 1e308]), ("epochs", [0, -3, 1.0, False]),
                    ("init_range", [-0.1, np.nan, np.inf, 1e308, 1e7, "x"]), ("per_step", [1, "yes"]),
                    ("shuffle", [None]), ("connectivity", ["Q", 1]), ("random_state", [-1, 1.5, "seed"]),
                    ("verbose", [True, "loud"]), ("variant", ["lstm", None, 3])]:
        for v in vals:
            c.append((f"fit: {p}={v!r}", lambda p=p, v=v: _est(**{p: v}).fit(X, Y)))
    for p, v in [("variant", "forget"), ("blocks", 2), ("cells", 3), ("connectivity", "B"), ("init_range", 0.2)]:
        c.append((f"partial_fit after set_params({p}={v!r})", lambda p=p, v=v: _changed_then_partial(p, v)))
    c += [("predict before fit", lambda: _est().predict(X)),
          ("predict complex", lambda: _fitted().predict([x + 1j for x in X])),
          ("predict wrong features", lambda: _fitted().predict([np.zeros((5, 3))])),
          ("predict empty sequence", lambda: _fitted().predict([np.zeros((0, 2))])),
          ("score complex y", lambda: _fitted().score(X, Y + 1j)),
          ("partial_fit out of range y", lambda: _fitted().partial_fit(X, Y * 1000)),
          ("set_params unknown", lambda: _est().set_params(nosuch=1))]
    return c


def _torch_cases() -> list:
    try:
        import torch

        from lstm1997.torch import LSTM1997
    except ImportError:
        return []

    def m():
        return LSTM1997.paper("adding", generator=0)

    def nan_weights():
        mod = m()
        sd = mod.state_dict()
        sd["W_h"] = sd["W_h"].clone()
        sd["W_h"][0, 0] = float("nan")
        mod.load_state_dict(sd)
        return mod(torch.zeros(1, 3, 2))

    def inf_by_hand():
        mod = m()
        with torch.no_grad():
            mod.W_k[0, 0] = float("inf")
        return mod(torch.zeros(1, 3, 2))

    c = [("torch: 1-D input", lambda: m()(torch.zeros(5))), ("torch: 2-D input", lambda: m()(torch.zeros(5, 2))),
         ("torch: 4-D input", lambda: m()(torch.zeros(1, 5, 2, 1))), ("torch: 0-D input", lambda: m()(torch.tensor(1.0))),
         ("torch: wrong features", lambda: m()(torch.zeros(1, 5, 3))),
         ("torch: complex input", lambda: m()(torch.zeros(1, 5, 2, dtype=torch.complex64))),
         ("torch: numpy complex", lambda: m()(np.zeros((1, 5, 2), dtype=complex))),
         ("torch: string input", lambda: m()(np.array([[["a", "b"]]]))),
         ("torch: NaN input", lambda: m()(torch.full((1, 5, 2), float("nan")))),
         ("torch: inf input", lambda: m()(torch.full((1, 5, 2), float("inf")))),
         ("torch: NaN weights by load_state_dict", nan_weights), ("torch: inf weight by hand", inf_by_hand),
         ("torch: NaN weights in the constructor",
          lambda: LSTM1997(m().arch, np.full(tuple(m().W_h.shape), np.nan), m().W_k.detach().numpy())),
         ("torch: step 1-D", lambda: m().step(torch.zeros(2))),
         ("torch: step 3-D", lambda: m().step(torch.zeros(1, 1, 2))),
         ("torch: step state wrong shape", lambda: m().step(torch.zeros(1, 2), (torch.zeros(3, 3), torch.zeros(1, 4)))),
         ("torch: step state one tensor", lambda: m().step(torch.zeros(1, 2), torch.zeros(1, 8))),
         ("torch: step state NaN", lambda: m().step(torch.zeros(1, 2), (torch.full((1, 8), float("nan")),
                                                                        torch.zeros(1, 4)))),
         ("torch: step state complex", lambda: m().step(torch.zeros(1, 2), (torch.zeros(1, 8, dtype=torch.complex64),
                                                                            torch.zeros(1, 4)))),
         ("torch: lengths wrong count", lambda: m()(torch.zeros(3, 5, 2), lengths=[1, 2])),
         ("torch: lengths too long", lambda: m()(torch.zeros(2, 5, 2), lengths=[9, 2])),
         ("torch: lengths float", lambda: m()(torch.zeros(2, 5, 2), lengths=[1.5, 2.0])),
         ("torch: paper blocks=0", lambda: LSTM1997.paper("adding", blocks=0)),
         ("torch: paper blocks=-1", lambda: LSTM1997.paper("1", blocks=-1)),
         ("torch: paper huge", lambda: LSTM1997.paper("2c", p=10 ** 9, q=10)),
         ("torch: paper huge Reber", lambda: LSTM1997.paper("1", blocks=10 ** 6, cells=10 ** 6)),
         ("torch: paper unknown", lambda: LSTM1997.paper("nosuch")),
         ("torch: bad dtype", lambda: LSTM1997.paper("adding", dtype=torch.int32)),
         ("torch: arch not an Architecture", lambda: LSTM1997("adding")),
         ("torch: T=0", lambda: m()(torch.zeros(1, 0, 2))), ("torch: B=0", lambda: m()(torch.zeros(0, 3, 2)))]
    return c


def cases() -> list:
    return _estimator_cases() + _torch_cases()


def _finite(r) -> bool:
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and isinstance(r, torch.Tensor):
        return bool(torch.isfinite(r).all())
    if isinstance(r, tuple):
        return all(_finite(v) for v in r)
    if isinstance(r, np.ndarray):
        return bool(np.isfinite(r).all()) if r.dtype.kind in "fc" else True
    if isinstance(r, list):
        return all(_finite(np.asarray(v)) for v in r)
    if hasattr(r, "predict") and hasattr(r, "net_"):
        return _finite(r.predict(X))
    return True


def check(case) -> str | None:
    name, fn = case
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            r = fn()
        except (ValueError, TypeError) as e:
            msg = str(e)
            if "\n" in msg.strip() or not msg.strip():
                return f"{name}: a message that is not one line: {msg!r}"
            if "in_gate_bias" in msg:
                return f"{name}: names an internal field: {msg}"
            return None
        except Exception as e:         # noqa: BLE001 - that is what we look for
            return f"{name}: {type(e).__name__}: {e}"
    if not _finite(r):
        return f"{name}: a result that is not finite"
    return None


def run_all() -> list[str]:
    return [p for p in (check(c) for c in cases()) if p]


if __name__ == "__main__":
    problems = run_all()
    for p in problems:
        print(p)
    print(f"{len(cases())} calls, {len(problems)} problems")
    sys.exit(1 if problems else 0)
