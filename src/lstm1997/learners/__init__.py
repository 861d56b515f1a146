"""Learning rules, each an ``init``/``update`` pair whose state lives outside the network."""

from .truncated_rtrl import DivergenceError as DivergenceError
from .truncated_rtrl import RTRLState as RTRLState
from .truncated_rtrl import TruncatedRTRL as TruncatedRTRL
from .bptt import BPTT as BPTT
from .bptt import BPTTState as BPTTState
from .bptt import bptt_gradient as bptt_gradient
