"""Running many trials: a results store (SQLite), local worker processes or Dask, checkpoints, progress.

The runner knows nothing about any particular experiment: a trial is a function name, JSON-able
arguments and a seed (:class:`TrialSpec`); see :mod:`.core` for how a run goes and :mod:`.store` for
what is kept.
"""

from .backends import RunnerError
from .core import RunSummary, TrialSpec, default_workers, register, run_trials, trial_key
from .progress import Progress
from .store import Store, StoreError

__all__ = ["Store", "StoreError", "TrialSpec", "RunSummary", "register", "run_trials", "trial_key",
           "default_workers", "Progress", "RunnerError"]
