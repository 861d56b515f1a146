"""Many independent trials at once: the paper's learning rule on L networks in SIMD lanes.

:func:`update_lanes` is :meth:`TruncatedRTRL.update <lstm1997.learners.TruncatedRTRL.update>` for L
networks of one architecture, each with its own weights, masks, learner state, learning rate and batch
of sequences (of any lengths), trained by the lane kernel (``_kernels/lanes.py``) in blocks of
:data:`BLOCK` networks per call. Each network ends bit for bit where ``learner.update(net, state, batch)``
alone would have left it: lanes are a way of running trials, never a part of a trial's numbers.
:func:`predict_lanes` is :func:`lstm1997.predict` with a batch's sequences spread over the lanes.
"""

from __future__ import annotations

import numpy as np

from ..batch import Batch
from ..network import LSTM, _check_batch
from .truncated_rtrl import DELTAS, DivergenceError, RTRLState, TruncatedRTRL, advance_counters

from .._kernels.lanes import WIDTH as BLOCK

__all__ = ["update_lanes", "predict_lanes", "lanes_supported", "BLOCK"]

# BLOCK: networks per call of the lane kernel; update_lanes trains any number of networks in blocks of this
# many (the last block padded with idle lanes)



def lanes_supported(learner, net) -> bool:
    """Whether ``learner`` training ``net`` can run in a lane (the paper's rule, compiled, on a 1997 LSTM:
    the cell variants run one net at a time)."""
    return (isinstance(learner, TruncatedRTRL) and learner.backend == "numba" and isinstance(net, LSTM)
            and net.arch.is_1997)


def update_lanes(learners, nets, states, batches, all_outputs: bool = True) -> list:
    """Train ``nets[l]`` with ``learners[l]`` on ``batches[l]`` (state ``states[l]``) for every lane l at once.

    All nets share one architecture and all learners one ``per_step`` setting (learning rates may
    differ). Returns per lane what ``learners[l].update`` returns (the outputs ``(steps, K)``), or, for a
    lane whose weights became NaN or inf, the :class:`DivergenceError` that ``update`` would have raised
    (that network and its state are then left exactly as ``update`` leaves them). With
    ``all_outputs=False`` the outputs are computed only at the steps with a target (NaN at the others,
    which nothing of the training reads): faster where targets are rare, the same weights and states.
    """
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

    sym_path = all(b.symbols is not None for b in batches)     # one-hot inputs given as symbols
    Ys, bad = [], np.full(L, -1, dtype=np.int64)
    for b0 in range(0, L, BLOCK):          # the kernel trains BLOCK lanes per call: blocks, the last padded
        sl = slice(b0, min(b0 + BLOCK, L))
        Y_b, bad[sl] = _train_block(arch, learners[sl], nets[sl], states[sl], batches[sl], sym_path,
                                    bool(per_step), DELTAS.index(learners[0].delta), all_outputs=bool(all_outputs))
        Ys.extend(Y_b)

    out = []
    for l, (st, b) in enumerate(zip(states, batches)):
        try:
            advance_counters(st, b, int(bad[l]))
            out.append(Ys[l])
        except DivergenceError as e:
            out.append(e)
    return out


def predict_lanes(net, batch) -> np.ndarray:
    """:func:`lstm1997.predict` for a 1997 LSTM computed in SIMD lanes: the batch's sequences are split into
    ``BLOCK`` consecutive parts, one per lane, each lane with ``net``'s weights. Bit for bit
    ``predict(net, batch)`` (every lane computes exactly as the one-network kernel, and no weight changes),
    about 3-4x faster on long batches (a final test of 2560 sequences)."""
    if not (isinstance(net, LSTM) and net.arch.is_1997):
        raise TypeError("predict_lanes takes a 1997 lstm1997.LSTM (no forget gates or peepholes)")
    _check_batch(net, batch)
    n = len(batch)
    cuts = [(i * n) // BLOCK for i in range(BLOCK + 1)]
    parts = [batch[cuts[i]:cuts[i + 1]] for i in range(BLOCK)]
    sym_path = batch.symbols is not None
    Ys, _ = _train_block(net.arch, None, [net] * BLOCK, None, parts, sym_path, True, 0, learn=False)
    return np.concatenate(Ys, axis=0) if n else np.empty((0, net.arch.n_out))


def _train_block(arch, learners, nets, states, batches, sym_path, per_step, delta, learn=True,
                 all_outputs=True):
    """One kernel call for up to ``WIDTH`` lanes (the rest padded with lanes that have no sequences): packs
    the lanes lane-major, trains them, and writes weights and traces back. Returns the lanes' outputs
    (contiguous views) and their ``bad`` indices. With ``learn=False`` it only runs the nets (``learners`` and
    ``states`` unused, targets ignored, nothing written back)."""
    from .._kernels.lanes import WIDTH, run_lstm_lanes

    n_l = len(nets)
    K = arch.n_out
    # every lane's data one after the other, and a spare last row (zero inputs, no target) that lanes with
    # no steps left read (and write their outputs to); the kernel gathers its rows per lane
    steps = [b.n_steps for b in batches]
    base = np.zeros(WIDTH, dtype=np.int64)
    base[1:n_l] = np.cumsum(steps)[:-1]
    nst = np.zeros(WIDTH, dtype=np.int64)
    nst[:n_l] = steps
    N = int(sum(steps))
    if learn:
        Ds = np.concatenate([b.targets for b in batches] + [np.full((1, K), np.nan)])
    else:
        Ds = np.zeros((0, K))                       # not read without learning
    if sym_path:
        Xs = np.zeros((0, arch.n_in))
        Ss = np.concatenate([b.symbols for b in batches] + [np.zeros(1, dtype=np.int64)])
    else:
        Xs = np.concatenate([b.inputs for b in batches] + [np.zeros((1, arch.n_in))])
        Ss = np.zeros(0, dtype=np.int64)
    Ys = np.empty((N + 1, K))
    ends, lane_seq = [b.offsets[1:] for b in batches], [0]
    for b in batches:
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
    if learn:
        dS_in = stack([s.dS_in for s in states])
        dS_c = stack([s.dS_c for s in states])
    else:
        dS_in = np.zeros((0, 0, WIDTH))
        dS_c = np.zeros((0, 0, WIDTH))
    lr = np.zeros(WIDTH)
    if learn:
        lr[:n_l] = [float(x.lr) for x in learners]
    bad = np.full(WIDTH, -1, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):    # only matters with NUMBA_DISABLE_JIT=1
        run_lstm_lanes(WT_h, WT_k, MT_h, MT_k, arch.blocks, arch.cells, arch.hidden, arch.n_in,
                       arch.output_gates, arch.outputs_see_inputs, 0 if arch.g == "g2" else 1,
                       0 if arch.h == "h1" else 1, Xs, Ss, sym_path, Ds, ends, lane_seq, Ys,
                       dS_in, dS_c, lr, learn, per_step, delta, bad, all_outputs or not learn, base, nst)
    for l, (net, st) in enumerate(zip(nets, states) if learn else ()):
        net.W_h[...] = WT_h[:, :, l].T
        net.W_k[...] = WT_k[:, :, l].T
        st.dS_in[...] = dS_in[:, :, l]
        st.dS_c[...] = dS_c[:, :, l]
    # a view per lane (contiguous rows): the outputs are not copied
    return [Ys[base[l]: base[l] + nst[l]] for l in range(n_l)], bad[:n_l]

