"""Many independent trials at once: the paper's learning rule on L networks in SIMD lanes.

:func:`update_lanes` is :meth:`TruncatedRTRL.update <lstm1997.learners.TruncatedRTRL.update>` for L
networks of one architecture, each with its own weights, masks, learner state, learning rate and batch
of sequences (of any lengths), trained by one call of the lane kernel (``_kernels/lanes.py``). Each
network ends bit for bit where ``learner.update(net, state, batch)`` alone would have left it: lanes are
a way of running trials, never a part of a trial's numbers.
"""

from __future__ import annotations

import numpy as np

from ..batch import Batch
from ..network import LSTM, _check_batch
from .truncated_rtrl import DELTAS, DivergenceError, RTRLState, TruncatedRTRL, advance_counters

__all__ = ["update_lanes", "lanes_supported"]

_DENSE_UP_TO = 0      # one-hot batches with at most this many inputs run through the dense input path (none: the
                       # lane kernel gathers the current symbol's weights, as the one-network kernel reads them)


def lanes_supported(learner, net) -> bool:
    """Whether ``learner`` training ``net`` can run in a lane (the paper's rule, compiled, on a 1997 LSTM:
    the cell variants run one net at a time)."""
    return (isinstance(learner, TruncatedRTRL) and learner.backend == "numba" and isinstance(net, LSTM)
            and net.arch.is_1997)


def update_lanes(learners, nets, states, batches) -> list:
    """Train ``nets[l]`` with ``learners[l]`` on ``batches[l]`` (state ``states[l]``) for every lane l at once.

    All nets share one architecture and all learners one ``per_step`` setting (learning rates may
    differ). Returns per lane what ``learners[l].update`` returns (the outputs ``(steps, K)``), or, for a
    lane whose weights became NaN or inf, the :class:`DivergenceError` that ``update`` would have raised
    (that network and its state are then left exactly as ``update`` leaves them).
    """
    from .._kernels.lanes import WIDTH

    learners, nets, states, batches = list(learners), list(nets), list(states), list(batches)
    L = len(nets)
    if L == 0 or not (len(learners) == len(states) == len(batches) == L):
        raise ValueError("update_lanes needs one learner, state and batch per network, and at least one network")
    arch = nets[0].arch
    if not arch.is_1997:
        raise ValueError("lanes run the 1997 cell only: a net with forget gates or peepholes trains with "
                         "learner.update(net, state, batch), one net at a time")
    per_step = learners[0].per_step
    for lr_, net, st, b in zip(learners, nets, states, batches):
        if not lanes_supported(lr_, net):
            raise TypeError("lanes run the paper's rule (TruncatedRTRL, numba backend) on lstm1997.LSTM nets only")
        if net.arch != arch:
            raise ValueError("every network in a lane group must have the same architecture")
        if lr_.per_step != per_step or lr_.delta != learners[0].delta:
            raise ValueError("every learner in a lane group must have the same per_step and delta settings")
        if not isinstance(st, RTRLState) or st.dS_in.shape != (arch.n_cells, arch.n_src):
            raise ValueError("a state does not belong to its network (call learner.init(net))")
        _check_batch(net, b)
    if len({id(n) for n in nets}) != L or len({id(s) for s in states}) != L:
        raise ValueError("each lane needs a network and a state of its own")

    sym_path = all(b.symbols is not None for b in batches)
    # one-hot inputs: with few inputs the dense lane loops (which add exact zeros for the other inputs,
    # bit for bit the numbers of the one-hot path while the weights are finite) beat per-lane gathers
    sparse = sym_path and arch.n_in > _DENSE_UP_TO
    Ys, bad = [], np.full(L, -1, dtype=np.int64)
    for b0 in range(0, L, WIDTH):          # the kernel trains WIDTH lanes per call: blocks, the last padded
        sl = slice(b0, min(b0 + WIDTH, L))
        Y_b, bad[sl] = _train_block(arch, learners[sl], nets[sl], states[sl], batches[sl], sym_path, sparse,
                                    bool(per_step), DELTAS.index(learners[0].delta))
        Ys.extend(Y_b)

    out = []
    for l, (st, b) in enumerate(zip(states, batches)):
        try:
            advance_counters(st, b, int(bad[l]))
            out.append(Ys[l])
        except DivergenceError as e:
            out.append(e)
    return out


def _train_block(arch, learners, nets, states, batches, sym_path, sparse, per_step, delta):
    """One kernel call for up to ``WIDTH`` lanes (the rest padded with lanes that have no sequences): packs
    the lanes lane-major, trains them, and writes weights and traces back. Returns the lanes' outputs
    (views) and their ``bad`` indices."""
    from .._kernels.lanes import WIDTH, run_lstm_lanes

    n_l = len(nets)
    n = max(b.n_steps for b in batches)
    K = arch.n_out
    # lane-major: step t of lane l at [t, ..., l]; shorter lanes padded with zero inputs and no targets
    Ds = np.full((n, K, WIDTH), np.nan)
    Ys = np.empty((n, K, WIDTH))
    if sym_path:
        Xs = np.zeros((0, 0, WIDTH))
        Ss = np.zeros((n, WIDTH), dtype=np.int64)
    else:
        Xs = np.zeros((n, arch.n_in, WIDTH))
        Ss = np.zeros((0, 0), dtype=np.int64)
    ends, lane_seq = [], [0]
    for l, b in enumerate(batches):
        m = b.n_steps
        Ds[:m, :, l] = b.targets
        if sym_path:
            Ss[:m, l] = b.symbols
        else:
            Xs[:m, :, l] = b.inputs
        ends.append(b.offsets[1:])
        lane_seq.append(lane_seq[-1] + len(b))
    lane_seq += [lane_seq[-1]] * (WIDTH - n_l)          # padding lanes: no sequences
    ends = np.ascontiguousarray(np.concatenate(ends), dtype=np.int64)
    lane_seq = np.asarray(lane_seq, dtype=np.int64)

    def stack(arrays):
        out = np.zeros(arrays[0].shape + (WIDTH,))
        for l, a in enumerate(arrays):
            out[..., l] = a
        return out

    WT_h = stack([net.W_h.T for net in nets])
    WT_k = stack([net.W_k.T for net in nets])
    MT_h = stack([net._masks[2].T for net in nets])
    MT_k = stack([net._masks[3].T for net in nets])
    dS_in = stack([s.dS_in for s in states])
    dS_c = stack([s.dS_c for s in states])
    lr = np.zeros(WIDTH)
    lr[:n_l] = [float(x.lr) for x in learners]
    bad = np.full(WIDTH, -1, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):    # only matters with NUMBA_DISABLE_JIT=1
        run_lstm_lanes(WT_h, WT_k, MT_h, MT_k, arch.blocks, arch.cells, arch.hidden, arch.n_in,
                       arch.output_gates, arch.outputs_see_inputs, 0 if arch.g == "g2" else 1,
                       0 if arch.h == "h1" else 1, Xs, Ss, sym_path, sparse, Ds, ends, lane_seq, Ys,
                       dS_in, dS_c, lr, True, per_step, delta, bad)
    for l, (net, st) in enumerate(zip(nets, states)):
        net.W_h[...] = WT_h[:, :, l].T
        net.W_k[...] = WT_k[:, :, l].T
        st.dS_in[...] = dS_in[:, :, l]
        st.dS_c[...] = dS_c[:, :, l]
    # a view per lane: the outputs are not copied
    return [Ys[: b.n_steps, :, l] for l, b in enumerate(batches)], bad[:n_l]

