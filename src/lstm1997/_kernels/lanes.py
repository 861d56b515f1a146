"""Numba kernel that trains L independent 1997 LSTMs of one architecture at once, one per SIMD lane.

Private: called only through :func:`lstm1997.learners.lanes.update_lanes`, which validates and packs
every argument. Every per-network array of ``lstm.py: run_lstm`` gains a last, contiguous dimension of
length L (the lane), so each arithmetic operation of a step serves L networks and the lane loops
(innermost everywhere) compile to vector instructions. Each lane has its own weights, masks, traces,
learning rate and stream of sequences, laid out lane-major (step t of every lane side by side), so that
every load and store of a step is a contiguous lane vector. Lanes run in lockstep, step by step; a lane
whose sequence ends applies its per-sequence update, checks its weights, resets and starts its next
sequence while the others go on. A lane with no steps left, or whose weights became NaN or inf, runs on
(on padding or on steps it must not use) with every update masked off.

**Bit for bit the one-network kernel.** Every quantity of a lane is computed with exactly the operations,
in exactly the order, of ``run_lstm`` (same sums in the same order, same products, the same ``exp``), so
a network gives the same numbers alone or in any lane of any L (``tests/test_lanes.py``). Where
``run_lstm`` skips work on a step without a target, a lane without a target keeps its weights by a
select (never by adding a zero, which could turn -0.0 into +0.0).

**What made it fast** (measured with ``benchmarks/bench_lanes.py``): (1) the ``exp`` of ``_math.py``, which
vectorises where ``np.exp`` is a scalar library call; (2) the time loop ``_lanes`` takes every array as an
argument and is compiled with ``noalias`` (``_jit.py``), without which LLVM guards each short lane loop
with run-time overlap checks; (3) the lane-major data layout (no per-lane gathers of inputs, targets and
outputs).
"""

import numpy as np

from ._jit import JIT, JIT_NOALIAS, njit
from ._math import layout, logistic_rows


@njit(**JIT)
def _begin(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, z, zo, s_c, dS_in, dS_c, prev):
    """Reset lane ``l`` at a sequence start (spec §1.4), as ``run_lstm`` does."""
    for i in range(n_in, n_src):
        z[i, l] = 0.0
    z[n_src - 1, l] = 1.0
    zo[n_osrc - 1, l] = 1.0
    for q in range(n_cells):
        s_c[q, l] = 0.0
    if use_sym:
        for m in range(n_in):
            z[m, l] = 0.0
            if see_in:
                zo[m, l] = 0.0
    prev[l] = 0
    if learn:
        for q in range(n_cells):
            for m in range(n_src):
                dS_in[q, m, l] = 0.0
                dS_c[q, m, l] = 0.0


@njit(**JIT)
def _weights_finite(WT_h, WT_k, l):
    for m in range(WT_h.shape[0]):
        for i in range(WT_h.shape[1]):
            if not np.isfinite(WT_h[m, i, l]):
                return False
    for m in range(WT_k.shape[0]):
        for k in range(WT_k.shape[1]):
            if not np.isfinite(WT_k[m, k, l]):
                return False
    return True


@njit(**JIT)
def _settle(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, acc, z, zo, s_c, dS_in, dS_c, prev,
            WT_h, WT_k, dWT_h, dWT_k, ends, lane_seq, cur, end, sq, alive, bad, fin_in, fin_c):
    """After a step of lane ``l``: while its current sequence has ended, apply the per-sequence update,
    check its weights (stop the lane if one is NaN or inf, as ``run_lstm`` stops), and start its next
    sequence (sequences without steps end at once). Returns 1 if the lane goes on, 0 if it is now idle
    (it then runs on with its updates masked; the traces of its last step are kept in ``fin_in``, ``fin_c``)."""
    while cur[l] == end[l]:
        if learn:
            if acc:
                for m in range(WT_h.shape[0]):
                    for i in range(WT_h.shape[1]):
                        WT_h[m, i, l] += dWT_h[m, i, l]
                        dWT_h[m, i, l] = 0.0
                for m in range(WT_k.shape[0]):
                    for k in range(WT_k.shape[1]):
                        WT_k[m, k, l] += dWT_k[m, k, l]
                        dWT_k[m, k, l] = 0.0
            if not _weights_finite(WT_h, WT_k, l):
                bad[l] = sq[l] - lane_seq[l]
                alive[l] = False
                break
        sq[l] += 1
        if sq[l] == lane_seq[l + 1]:
            alive[l] = False
            break
        _begin(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, z, zo, s_c, dS_in, dS_c, prev)
        end[l] = ends[sq[l]]
    if alive[l]:
        return 1
    if learn:
        for q in range(n_cells):
            for m in range(n_src):
                fin_in[q, m, l] = dS_in[q, m, l]
                fin_c[q, m, l] = dS_c[q, m, l]
    return 0


@njit(**JIT)
def run_lstm_lanes(WT_h, WT_k, MT_h, MT_k,
                   C, S, H, n_in, has_og, see_in, g_kind, h_kind,
                   Xs, Ss, use_sym, sparse, Ds, ends, lane_seq, Ys, dS_in, dS_c,
                   lr, learn, per_step, delta, bad):
    """Train (or, if not ``learn``, just run) L networks, each over its own sequences.

    WT_h, WT_k : ``(n_src, n_hid, L)``, ``(n_osrc, K, L)``: the weights stored transposed (source-major, as
        ``run_lstm``'s working copies), updated in place; MT_h, MT_k : the 0/1 masks, same shapes.
    Xs, Ss, Ds, Ys : the lanes' steps side by side: lane ``l``'s step ``t`` (counted over all its sequences)
        is ``Xs[t, :, l]`` (inputs, ``(n, n_in, L)``; unused if ``use_sym``), ``Ss[t, l]`` (its symbol, if
        ``use_sym``), ``Ds[t, :, l]`` (targets, NaN for none) and ``Ys[t, :, l]`` (outputs, written). ``n`` is
        the longest lane's number of steps; shorter lanes are padded (zero inputs, NaN targets).
    use_sym, sparse : one-hot inputs given as symbols; if ``sparse`` as well, only the current symbol's
        input column is touched (gathers per lane, like ``run_lstm``'s one-hot path; for many inputs),
        otherwise the one-hot vectors are written into the lanes' inputs and the dense loops run (for few
        inputs; they add exact zeros for the other inputs: bit for bit the numbers of the one-hot path
        while the weights are finite).
    ends, lane_seq : lane ``l`` owns the sequences ``lane_seq[l] .. lane_seq[l+1]-1``, in order; sequence
        ``i`` ends before step ``ends[i]`` of its lane (its first step is the previous sequence's end).
    dS_in, dS_c : ``(C*S, n_src, L)`` traces (the learners' states), reset at every sequence start.
    lr : ``(L,)`` learning rates. delta : the output error, as ``run_lstm``'s.
    bad : ``(L,)`` output: per lane the index (within its own sequences) of the first sequence after which a weight was NaN or inf (the lane stopped there), or -1.
    """
    L = lr.shape[0]
    n_cells, n_og, n_hid, n_src, off_c, off_hid, oc0 = layout(C, S, H, n_in, has_og, see_in)
    K = WT_k.shape[1]
    n_osrc = WT_k.shape[0]
    acc = not per_step
    z = np.zeros((n_src, L))
    zo = np.zeros((n_osrc, L))
    net = np.zeros((n_hid, L))
    y_new = np.zeros((n_hid, L))
    fp = np.zeros((n_hid, L))
    s_c = np.zeros((n_cells, L))
    g_c = np.zeros((n_cells, L))
    gp_c = np.zeros((n_cells, L))
    h_c = np.zeros((n_cells, L))
    hp_c = np.zeros((n_cells, L))
    sh = np.zeros((n_cells, L))
    shp = np.zeros((n_cells, L))
    back = np.zeros((n_cells + H, L))
    e_k = np.zeros((K, L))
    y_k = np.zeros((K, L))
    fpk = np.zeros((K, L))
    e_s = np.zeros((n_cells, L))
    a_in = np.zeros(L)
    a_c = np.zeros(L)
    tmp = np.zeros(L)
    tgt = np.zeros(L, dtype=np.bool_)
    prev = np.zeros(L, dtype=np.int64)
    cur = np.zeros(L, dtype=np.int64)
    end = np.zeros(L, dtype=np.int64)
    sq = np.zeros(L, dtype=np.int64)
    alive = np.zeros(L, dtype=np.bool_)
    dWT_h = np.zeros_like(WT_h) if (learn and acc) else np.zeros((0, 0, 0))
    dWT_k = np.zeros_like(WT_k) if (learn and acc) else np.zeros((0, 0, 0))
    fin_in = dS_in.copy()           # traces of each lane's last step (see _settle)
    fin_c = dS_c.copy()
    _lanes(WT_h, WT_k, MT_h, MT_k, C, S, H, n_in, has_og, see_in, g_kind, h_kind,
           Xs, Ss, use_sym, sparse, Ds, ends, lane_seq, Ys, dS_in, dS_c, lr, learn, per_step, delta, bad,
           z, zo, net, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, sh, shp, back, e_k, y_k, fpk, e_s,
           a_in, a_c, tmp, tgt, prev, cur, end, sq, alive, dWT_h, dWT_k, fin_in, fin_c)


@njit(**JIT_NOALIAS)
def _lanes(WT_h, WT_k, MT_h, MT_k, C, S, H, n_in, has_og, see_in, g_kind, h_kind,
           Xs, Ss, use_sym, sparse, Ds, ends, lane_seq, Ys, dS_in, dS_c, lr, learn, per_step, delta, bad,
           z, zo, net, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, sh, shp, back, e_k, y_k, fpk, e_s,
           a_in, a_c, tmp, tgt, prev, cur, end, sq, alive, dWT_h, dWT_k, fin_in, fin_c):
    """The time loop of :func:`run_lstm_lanes`, every array an argument and a distinct array: compiled with
    ``noalias``, so that LLVM vectorises the short lane loops without run-time overlap checks."""
    L = lr.shape[0]
    n_cells, n_og, n_hid, n_src, off_c, off_hid, oc0 = layout(C, S, H, n_in, has_og, see_in)
    K = WT_k.shape[1]
    n_osrc = WT_k.shape[0]
    acc = not per_step
    if acc:
        U_h = dWT_h
        U_k = dWT_k
    else:
        U_h = WT_h
        U_k = WT_k
    n_alive = 0
    for l in range(L):
        bad[l] = -1
        cur[l] = 0
        sq[l] = lane_seq[l]
        if sq[l] < lane_seq[l + 1]:
            _begin(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, z, zo, s_c, dS_in, dS_c, prev)
            end[l] = ends[sq[l]]
            alive[l] = True
            n_alive += _settle(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, acc, z, zo, s_c,
                               dS_in, dS_c, prev, WT_h, WT_k, dWT_h, dWT_k, ends, lane_seq,
                               cur, end, sq, alive, bad, fin_in, fin_c)
    m0 = n_in if sparse else 0
    for t in range(Ys.shape[0]):
        if n_alive == 0:
            break
        # ---- inputs x(t) of every lane ----
        if use_sym:
            for l in range(L):
                z[prev[l], l] = 0.0
                if see_in:
                    zo[prev[l], l] = 0.0
                p = Ss[t, l]
                prev[l] = p
                z[p, l] = 1.0
                if see_in:
                    zo[p, l] = 1.0
        else:
            for m in range(n_in):
                for l in range(L):
                    z[m, l] = Xs[t, m, l]
                if see_in:
                    for l in range(L):
                        zo[m, l] = z[m, l]
        # ---- net inputs ----
        for i in range(n_hid):
            for l in range(L):
                net[i, l] = 0.0
        if sparse:
            for i in range(n_hid):
                for l in range(L):
                    net[i, l] += WT_h[prev[l], i, l]
        for m in range(m0, n_src):
            for i in range(n_hid):
                for l in range(L):
                    net[i, l] += WT_h[m, i, l] * z[m, l]
        logistic_rows(net, y_new, fp, 0, n_hid)
        # ---- cells (the CEC) ----
        for q in range(n_cells):
            j = q // S
            if g_kind == 0:
                for l in range(L):
                    g_c[q, l] = 4.0 * y_new[off_c + q, l] - 2.0
                    gp_c[q, l] = 4.0 * fp[off_c + q, l]
            else:
                for l in range(L):
                    g_c[q, l] = y_new[off_c + q, l]
                    gp_c[q, l] = fp[off_c + q, l]
            for l in range(L):
                s_c[q, l] += y_new[j, l] * g_c[q, l]
        if h_kind == 0:
            logistic_rows(s_c, sh, shp, 0, n_cells)
        for q in range(n_cells):
            if h_kind == 0:
                for l in range(L):
                    h_c[q, l] = 2.0 * sh[q, l] - 1.0
                    hp_c[q, l] = 2.0 * sh[q, l] * (1.0 - sh[q, l])
            else:
                for l in range(L):
                    h_c[q, l] = s_c[q, l]
                    hp_c[q, l] = 1.0
        for q in range(n_cells):
            jo = C + q // S
            if has_og:
                for l in range(L):
                    yc = h_c[q, l] * y_new[jo, l]
                    y_new[off_c + q, l] = yc
                    zo[oc0 + q, l] = yc
            else:
                for l in range(L):
                    yc = h_c[q, l] * 1.0
                    y_new[off_c + q, l] = yc
                    zo[oc0 + q, l] = yc
        # ---- traces, eqs. 25/27 ----
        if learn:
            for q in range(n_cells):
                j = q // S
                for l in range(L):
                    a_in[l] = g_c[q, l] * fp[j, l]
                    a_c[l] = y_new[j, l] * gp_c[q, l]
                if sparse:
                    for l in range(L):
                        dS_in[q, prev[l], l] += a_in[l]
                        dS_c[q, prev[l], l] += a_c[l]
                for m in range(m0, n_src):
                    for l in range(L):
                        dS_in[q, m, l] += a_in[l] * z[m, l]
                        dS_c[q, m, l] += a_c[l] * z[m, l]
        for u in range(H):
            for l in range(L):
                zo[oc0 + n_cells + u, l] = y_new[off_hid + u, l]
        # ---- output units and their errors (eq. 19) ----
        for k in range(K):
            for l in range(L):
                e_k[k, l] = 0.0
        for m in range(n_osrc):
            for k in range(K):
                for l in range(L):
                    e_k[k, l] += WT_k[m, k, l] * zo[m, l]
        logistic_rows(e_k, y_k, fpk, 0, K)
        for k in range(K):
            for l in range(L):
                Ys[t, k, l] = y_k[k, l]
        for l in range(L):
            tgt[l] = False
        for k in range(K):
            for l in range(L):
                y = y_k[k, l]
                d = Ds[t, k, l]
                has = d == d
                if delta == 0:
                    e = y * (1.0 - y) * (d - y)
                elif delta == 1:
                    e = d - y
                else:
                    e = (y * (1.0 - y) + 0.1) * (d - y)
                e_k[k, l] = e if has else 0.0
                tgt[l] = tgt[l] | has
        any_t = False
        for l in range(L):                  # a lane that stopped (or is done) trains no more
            tgt[l] = tgt[l] & alive[l]
            any_t = any_t | tgt[l]
        if learn and any_t:
            # ---- errors with the weights before this step's update ----
            for u in range(n_cells + H):
                for l in range(L):
                    back[u, l] = 0.0
                for k in range(K):
                    for l in range(L):
                        back[u, l] += WT_k[oc0 + u, k, l] * e_k[k, l]
            for q in range(n_cells):
                jo = C + q // S
                if has_og:
                    for l in range(L):
                        e_s[q, l] = y_new[jo, l] * hp_c[q, l] * back[q, l]
                else:
                    for l in range(L):
                        e_s[q, l] = 1.0 * hp_c[q, l] * back[q, l]
            # ---- updates (lanes without a target keep theirs) ----
            for m in range(n_osrc):
                for k in range(K):
                    for l in range(L):
                        w = U_k[m, k, l]
                        w1 = w + lr[l] * e_k[k, l] * zo[m, l] * MT_k[m, k, l]
                        U_k[m, k, l] = w1 if tgt[l] else w
            if has_og:
                for j in range(C):
                    for l in range(L):
                        tmp[l] = 0.0
                    for v in range(S):
                        for l in range(L):
                            tmp[l] += h_c[j * S + v, l] * back[j * S + v, l]
                    for l in range(L):
                        tmp[l] = lr[l] * fp[C + j, l] * tmp[l]
                    for m in range(n_src):
                        for l in range(L):
                            w = U_h[m, C + j, l]
                            w1 = w + tmp[l] * z[m, l] * MT_h[m, C + j, l]
                            U_h[m, C + j, l] = w1 if tgt[l] else w
            for j in range(C):
                for m in range(n_src):
                    for l in range(L):
                        tmp[l] = 0.0
                    for v in range(S):
                        for l in range(L):
                            tmp[l] += e_s[j * S + v, l] * dS_in[j * S + v, m, l]
                    for l in range(L):
                        w = U_h[m, j, l]
                        w1 = w + lr[l] * tmp[l] * MT_h[m, j, l]
                        U_h[m, j, l] = w1 if tgt[l] else w
            for q in range(n_cells):
                for l in range(L):
                    tmp[l] = lr[l] * e_s[q, l]
                for m in range(n_src):
                    for l in range(L):
                        w = U_h[m, off_c + q, l]
                        w1 = w + tmp[l] * dS_c[q, m, l] * MT_h[m, off_c + q, l]
                        U_h[m, off_c + q, l] = w1 if tgt[l] else w
            for u in range(H):
                for l in range(L):
                    tmp[l] = lr[l] * fp[off_hid + u, l] * back[n_cells + u, l]
                for m in range(n_src):
                    for l in range(L):
                        w = U_h[m, off_hid + u, l]
                        w1 = w + tmp[l] * z[m, l] * MT_h[m, off_hid + u, l]
                        U_h[m, off_hid + u, l] = w1 if tgt[l] else w
        # ---- this step's hidden activations are the next step's recurrent sources ----
        for i in range(n_hid):
            for l in range(L):
                z[n_in + i, l] = y_new[i, l]
        # ---- lanes whose sequence ended: per-sequence update, divergence check, next sequence ----
        for l in range(L):
            if alive[l]:
                cur[l] += 1
                if cur[l] == end[l]:
                    n_alive -= 1 - _settle(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, acc, z, zo,
                                           s_c, dS_in, dS_c, prev, WT_h, WT_k, dWT_h, dWT_k, ends, lane_seq,
                                           cur, end, sq, alive, bad, fin_in, fin_c)
    if learn:
        dS_in[...] = fin_in
        dS_c[...] = fin_c
