"""lstm1997: the original Long Short-Term Memory (Hochreiter & Schmidhuber, Neural Computation 9(8), 1997).

Public API (everything a user needs is importable from here):

* :class:`Architecture`, :class:`LSTM`, :func:`init`, :func:`step`, :func:`forward`, :func:`predict`
  — the network as data plus one time step;
* :class:`Batch` — variable-length sequences, stored ragged;
* :class:`TruncatedRTRL` — the paper's learning rule (``init``/``update``), and the exact-gradient
  oracles :func:`bptt_gradient` (full or truncated graph).
"""

from .batch import Batch as Batch
from .estimator import LSTMRegressor as LSTMRegressor
from .learners import BPTT as BPTT
from .learners import DivergenceError as DivergenceError
from .learners import bptt_gradient as bptt_gradient
from .learners import RTRLState as RTRLState
from .learners import TruncatedRTRL as TruncatedRTRL
from .network import LSTM as LSTM
from .network import Architecture as Architecture
from .network import forward as forward
from .network import init as init
from .network import predict as predict
from .network import step as step

__version__ = "0.3.0"
