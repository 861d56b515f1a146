"""Learning rules, each an ``init``/``update`` pair whose state lives outside the network: for the LSTM
the paper's truncated RTRL and the BPTT oracles; for the conventional baseline nets of ``lstm1997.rnn``
exact RTRL, full BPTT and Elman training."""

from .truncated_rtrl import DivergenceError as DivergenceError
from .truncated_rtrl import RTRLState as RTRLState
from .truncated_rtrl import TruncatedRTRL as TruncatedRTRL
from .truncated_rtrl import VariantRTRLState as VariantRTRLState
from .bptt import BPTT as BPTT
from .bptt import BPTTState as BPTTState
from .bptt import bptt_gradient as bptt_gradient
from .rtrl import RTRL as RTRL
from .rtrl import RNNRTRLState as RNNRTRLState
from .bptt_rnn import BPTTRNN as BPTTRNN
from .bptt_rnn import rnn_gradient as rnn_gradient
from .elman import Elman as Elman
