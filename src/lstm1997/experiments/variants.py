"""The later cell variants on the paper's tasks: an experiment's trial with its network's cells changed.

A variant is a property of the architecture (:meth:`lstm1997.Architecture.with_variant`): the forget gate
of Gers, Schmidhuber & Cummins (2000), with its authors' initial biases +0.5, +1.0, ... per block (D40),
the peephole connections of Gers, Schraudolph & Schmidhuber (2002), or both. Everything else of the trial
(task, topology, initial weights of the 1997 units, learning rate, criteria, cap) stays the paper's (and
the readings', if any), so a variant's row is the 1997 row with only the cell changed. The 1997 cell is
the default everywhere; a trial's variant is part of its identity (:func:`lstm1997.experiments.trial_args`).

Not for the conventional baselines (RTRL, BPTT: no memory cells) and not for sequential network
construction (Exp. 2a/2b add the cell during training; where a forget gate or peepholes would join then is
not defined by any of the three papers): refused with a clear message.
"""

from __future__ import annotations

from dataclasses import replace

from ..network import Architecture
from .protocol import Trial

__all__ = ["VARIANTS", "FORGET_BIAS", "check_variant", "apply_variant"]

#: name -> (forget_gate, peepholes)
VARIANTS = {"forget": (True, False), "peepholes": (False, True), "forget+peepholes": (True, True),
            "forget-open": (True, False)}

#: variants whose forget gates start at another bias than the authors' +0.5, +1.0, ... (D40): "forget-open"
#: starts every forget gate at +5 (y_phi = 0.993, the gate open: a state keeps half of itself over about 100
#: steps), the large bias Gers et al. are reported to have used on the long-lag temporal order task
FORGET_BIAS = {"forget-open": 5.0}


def check_variant(variant: str | None) -> str | None:
    """``variant`` if it names a cell variant (``None``: the 1997 cell), else a ValueError."""
    if variant is None or variant == "1997":
        return None
    if variant not in VARIANTS:
        raise ValueError(f"unknown cell variant {variant!r}; choose from {', '.join(VARIANTS)} (default: the "
                         "1997 cell)")
    return variant


def apply_variant(tr: Trial, variant: str | None) -> Trial:
    """The trial ``tr`` with its network's cells changed to ``variant`` (``None``: ``tr`` itself)."""
    variant = check_variant(variant)
    if variant is None:
        return tr
    if not isinstance(tr.arch, Architecture):
        raise ValueError(f"the cell variant {variant!r} applies to LSTM rows only, not to a conventional "
                         "baseline net")
    if tr.on_chunk is not None:
        raise ValueError(f"the cell variant {variant!r} is not defined with sequential network construction "
                         "(Exp. 2a/2b add the cell during training); choose an experiment whose net is complete "
                         "from the start")
    forget_gate, peepholes = VARIANTS[variant]
    kw = {"forget_gate_bias": (FORGET_BIAS[variant],) * tr.arch.blocks} if variant in FORGET_BIAS else {}
    return replace(tr, arch=tr.arch.with_variant(forget_gate=forget_gate, peepholes=peepholes, **kw))
