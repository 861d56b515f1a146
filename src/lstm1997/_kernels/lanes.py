"""Numba kernel that trains ``WIDTH`` (4) independent 1997 LSTMs of one architecture at once, one per SIMD lane.

Private: called only through :func:`lstm1997.learners.lanes.update_lanes` and ``predict_lanes``, which
validate every argument and call it once per block of 4 networks. Every per-network array of
``lstm.py: run_lstm`` gains a last, contiguous dimension of length 4 (the lane), and every per-lane
quantity of a step is an explicit SIMD vector (``_simd.py: LaneVec``, one AVX2 register of float64): each
statement of a step is one vector instruction for all 4 networks. Each lane has its own weights, masks,
traces, learning rate and stream of sequences; its inputs, targets and outputs are read and written in
place, lane by lane. Lanes run in lockstep, step by step; a lane whose sequence ends applies its
per-sequence update, checks its weights, resets and starts its next sequence while the others go on. A
lane with no steps left, or whose weights became NaN or inf, runs on (on a spare row of zeros) with every
update masked off.

**Bit for bit the one-network kernel.** Every quantity of a lane is computed with exactly the operations,
in exactly the order, of ``run_lstm`` (same sums in the same order, same products, the same ``exp``), so
a network gives the same numbers alone or in any lane of any block (``tests/test_lanes.py``). Where
``run_lstm`` skips work on a step without a target, a lane without a target keeps its weights by a
select (never by adding a zero, which could turn -0.0 into +0.0).

**What makes it fast** (measured with ``benchmarks/bench_lanes.py`` and ``perf``; docs/decisions.md, D43):
explicit vectors instead of one short loop over lanes per statement (the loops' set-up and remainder code
was most of the time); four units per dot product and per logistic vector, so that independent chains of
instructions are in flight; the one-hot inputs' weights gathered per lane; the time loop compiled with
``noalias`` (``_jit.py``). The two blocks of four sums (net inputs, output units) are written out twice on
purpose: as one shared function the kernel ran 7-15% slower.
"""

import numpy as np

from ._jit import JIT, JIT_NOALIAS, njit
from ._math import layout, sigmoid
from ._simd import vgather, vload, vsplat, vstore, vwhere, vwhere_eq

WIDTH = 4     # lanes per kernel call: one AVX2 register of float64 (see run_lstm_lanes)
GROUP = 4     # units whose logistic functions are computed together (see _logistic_rows)
_GW = GROUP * WIDTH


@njit(**JIT)
def _logistic_rows(src, y, fp, n):
    """``y[i] = sigmoid(src[i])`` and ``fp[i] = y[i] (1 - y[i])`` for the first ``n`` rows (units) of
    ``(rows, WIDTH)`` arrays, ``GROUP`` units per vector: the rows of consecutive units are contiguous, so
    one wide vector holds several units' lanes, and their ``exp``s (long chains of dependent instructions,
    two divisions each) run interleaved instead of one after the other. Lane by lane the same numbers."""
    i = 0
    while i + GROUP <= n:
        v = sigmoid(vload(src, i * WIDTH, _GW))
        vstore(y, i * WIDTH, v)
        vstore(fp, i * WIDTH, v * (1.0 - v))
        i += GROUP
    while i < n:
        v = sigmoid(vload(src, i * WIDTH, WIDTH))
        vstore(y, i * WIDTH, v)
        vstore(fp, i * WIDTH, v * (1.0 - v))
        i += 1


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
                   Xs, Ss, use_sym, Ds, ends, lane_seq, Ys, dS_in, dS_c,
                   lr, learn, per_step, delta, bad, all_out, base, nst):
    """Train (or, if not ``learn``, just run) ``WIDTH`` networks, each over its own sequences.

    WT_h, WT_k : ``(n_src, n_hid, W)``, ``(n_osrc, K, W)``: the weights stored transposed (source-major, as
        ``run_lstm``'s working copies), updated in place; MT_h, MT_k : the 0/1 masks, same shapes.
        ``W`` is ``WIDTH``: the caller packs lanes in blocks of ``WIDTH`` (padding with lanes that have no
        sequences).
    Xs, Ss, Ds, Ys : every lane's steps, lane after lane, plus one last spare row: lane ``l``'s step ``t``
        (counted over all its sequences) is row ``base[l] + t`` of ``Xs`` (inputs, ``(N + 1, n_in)``; unused
        if ``use_sym``), ``Ss`` (its symbol, if ``use_sym``), ``Ds`` (targets, NaN for none; not read, and
        may be empty, if not ``learn``) and ``Ys``
        (outputs, written), for ``t < nst[l]``. A lane with no steps left reads the spare row ``N`` (zero
        inputs, no targets) and writes its outputs there. Read and written lane by lane (a gather or a
        scatter of W scalars per row), so that the caller packs nothing.
    use_sym : one-hot inputs given as symbols: only the current symbol's input column is touched in the
        net inputs and traces (its weights gathered per lane), as in ``run_lstm``'s one-hot path.
    ends, lane_seq : lane ``l`` owns the sequences ``lane_seq[l] .. lane_seq[l+1]-1``, in order; sequence
        ``i`` ends before step ``ends[i]`` of its lane (its first step is the previous sequence's end).
    dS_in, dS_c : ``(C*S, n_src, W)`` traces (the learners' states), reset at every sequence start.
    lr : ``(W,)`` learning rates. delta : the output error, as ``run_lstm``'s.
    bad : ``(W,)`` output: per lane the index (within its own sequences) of the first sequence after which a
        weight was NaN or inf (the lane stopped there), or -1.
    all_out : compute the outputs at every step; if false, only at the steps where some lane has a target
        (``Ys`` is NaN at the others, which no number of the training depends on).
    """
    L = WIDTH
    n_cells, n_og, n_hid, n_src, off_c, off_hid, oc0 = layout(C, S, H, n_in, has_og, see_in)
    K = WT_k.shape[1]
    n_osrc = WT_k.shape[0]
    acc = not per_step
    z = np.zeros((n_src, L))
    zo = np.zeros((n_osrc, L))
    y_new = np.zeros((n_hid, L))
    fp = np.zeros((n_hid, L))
    s_c = np.zeros((n_cells, L))
    g_c = np.zeros((n_cells, L))
    gp_c = np.zeros((n_cells, L))
    h_c = np.zeros((n_cells, L))
    hp_c = np.zeros((n_cells, L))
    back = np.zeros((n_cells + H, L))
    e_k = np.zeros((K, L))
    e_s = np.zeros((n_cells, L))
    net = np.zeros((n_hid, L))
    sh_c = np.zeros((n_cells, L))
    shp_c = np.zeros((n_cells, L))
    y_k = np.zeros((K, L))
    fp_k = np.zeros((K, L))
    gidx = np.zeros(L, dtype=np.int64)
    row = np.zeros(L, dtype=np.int64)
    xrow = np.zeros(L, dtype=np.int64)
    krow = np.zeros(L, dtype=np.int64)
    tmp = np.zeros(L)
    tgt = np.zeros(L)
    prev = np.zeros(L, dtype=np.int64)
    cur = np.zeros(L, dtype=np.int64)
    end = np.zeros(L, dtype=np.int64)
    sq = np.zeros(L, dtype=np.int64)
    alive = np.zeros(L, dtype=np.bool_)
    dWT_h = np.zeros_like(WT_h) if (learn and acc) else np.zeros((0, 0, L))
    dWT_k = np.zeros_like(WT_k) if (learn and acc) else np.zeros((0, 0, L))
    fin_in = dS_in.copy()           # traces of each lane's last step (see _settle)
    fin_c = dS_c.copy()
    blk = np.arange(n_cells) // S   # the block of each cell (an integer division per use costs ~40 cycles)
    _lanes(WT_h, WT_k, MT_h, MT_k, C, S, H, n_in, has_og, see_in, g_kind, h_kind,
           Xs, Ss, use_sym, Ds, ends, lane_seq, Ys, dS_in, dS_c, lr, learn, per_step, delta, bad, all_out,
           base, nst, z, zo, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, back, e_k, e_s,
           tmp, tgt, prev, cur, end, sq, alive, dWT_h, dWT_k, fin_in, fin_c, blk, net, gidx, sh_c, shp_c, y_k, fp_k, row, xrow, krow)


@njit(**JIT_NOALIAS)
def _lanes(WT_h, WT_k, MT_h, MT_k, C, S, H, n_in, has_og, see_in, g_kind, h_kind,
           Xs, Ss, use_sym, Ds, ends, lane_seq, Ys, dS_in, dS_c, lr, learn, per_step, delta, bad, all_out,
           base, nst, z, zo, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, back, e_k, e_s,
           tmp, tgt, prev, cur, end, sq, alive, dWT_h, dWT_k, fin_in, fin_c, blk, net, gidx, sh_c, shp_c, y_k, fp_k, row, xrow, krow):
    """The time loop of :func:`run_lstm_lanes`. Every per-lane quantity is a lane vector (``_simd.py``):
    ``V(a, i)`` below stands for ``vload(a, i * W, W)``, the lanes of row ``i`` of ``a`` (for a 3-D array,
    ``i`` counts rows over both leading dimensions). Each statement is the statement of ``run_lstm`` at
    the same place, for all lanes at once; the few per-lane steps (symbols, sequence ends) are scalar."""
    W = WIDTH
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
    for l in range(W):
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
    m0 = n_in if use_sym else 0
    zero = vsplat(0.0, W)
    one = vsplat(1.0, W)
    lr_v = vload(lr, 0, W)
    spare = Ys.shape[0] - 1
    n_max = 0
    for l in range(W):
        n_max = max(n_max, nst[l])
    for t in range(n_max):
        if n_alive == 0:
            break
        for l in range(W):                  # each lane's data row of this step (see run_lstm_lanes)
            row[l] = base[l] + t if t < nst[l] else spare
            xrow[l] = row[l] * n_in
            krow[l] = row[l] * K
        # ---- inputs x(t) of every lane ----
        if use_sym:
            for l in range(W):
                z[prev[l], l] = 0.0
                if see_in:
                    zo[prev[l], l] = 0.0
                p = Ss[row[l]]
                prev[l] = p
                z[p, l] = 1.0
                if see_in:
                    zo[p, l] = 1.0
        else:
            for m in range(n_in):
                x = vgather(Xs, xrow, m, W)
                vstore(z, m * W, x)
                if see_in:
                    vstore(zo, m * W, x)
        # ---- net inputs (four units at a time: independent sums in flight), then their logistic ----
        if use_sym:
            for l in range(W):
                gidx[l] = prev[l] * (n_hid * W) + l          # WT_h[prev[l], 0, l]
        i = 0
        while i < n_hid:
            nb = min(4, n_hid - i)
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            if use_sym:
                a0 = a0 + vgather(WT_h, gidx, i * W, W)
                if nb > 1:
                    a1 = a1 + vgather(WT_h, gidx, (i + 1) * W, W)
                if nb > 2:
                    a2 = a2 + vgather(WT_h, gidx, (i + 2) * W, W)
                if nb > 3:
                    a3 = a3 + vgather(WT_h, gidx, (i + 3) * W, W)
            if nb == 4:
                for m in range(m0, n_src):
                    zm = vload(z, m * W, W)
                    r = (m * n_hid + i) * W
                    a0 = a0 + vload(WT_h, r, W) * zm
                    a1 = a1 + vload(WT_h, r + W, W) * zm
                    a2 = a2 + vload(WT_h, r + 2 * W, W) * zm
                    a3 = a3 + vload(WT_h, r + 3 * W, W) * zm
            else:
                for m in range(m0, n_src):
                    zm = vload(z, m * W, W)
                    r = (m * n_hid + i) * W
                    a0 = a0 + vload(WT_h, r, W) * zm
                    if nb > 1:
                        a1 = a1 + vload(WT_h, r + W, W) * zm
                    if nb > 2:
                        a2 = a2 + vload(WT_h, r + 2 * W, W) * zm
            vstore(net, i * W, a0)
            if nb > 1:
                vstore(net, (i + 1) * W, a1)
            if nb > 2:
                vstore(net, (i + 2) * W, a2)
            if nb > 3:
                vstore(net, (i + 3) * W, a3)
            i += nb
        _logistic_rows(net, y_new, fp, n_hid)
        # ---- cells (the CEC) ----
        for q in range(n_cells):
            j = blk[q]
            sg = vload(y_new, (off_c + q) * W, W)
            f = vload(fp, (off_c + q) * W, W)
            if g_kind == 0:
                g = 4.0 * sg - 2.0
                gp = 4.0 * f
            else:
                g = sg
                gp = f
            vstore(g_c, q * W, g)
            vstore(gp_c, q * W, gp)
            vstore(s_c, q * W, vload(s_c, q * W, W) + vload(y_new, j * W, W) * g)
        if h_kind == 0:
            _logistic_rows(s_c, sh_c, shp_c, n_cells)
        for q in range(n_cells):
            s = vload(s_c, q * W, W)
            if h_kind == 0:
                sh = vload(sh_c, q * W, W)
                h = 2.0 * sh - 1.0
                hp = 2.0 * sh * (1.0 - sh)
            else:
                h = s
                hp = vsplat(1.0, W)
            vstore(h_c, q * W, h)
            vstore(hp_c, q * W, hp)
            if has_og:
                yc = h * vload(y_new, (C + blk[q]) * W, W)
            else:
                yc = h * 1.0
            vstore(y_new, (off_c + q) * W, yc)
            vstore(zo, (oc0 + q) * W, yc)
        # ---- traces, eqs. 25/27 ----
        if learn:
            for q in range(n_cells):
                j = blk[q]
                a_in = vload(g_c, q * W, W) * vload(fp, j * W, W)
                a_c = vload(y_new, j * W, W) * vload(gp_c, q * W, W)
                if use_sym:
                    vstore(tmp, 0, a_in)
                    for l in range(W):
                        dS_in[q, prev[l], l] += tmp[l]
                    vstore(tmp, 0, a_c)
                    for l in range(W):
                        dS_c[q, prev[l], l] += tmp[l]
                for m in range(m0, n_src):
                    r = (q * n_src + m) * W
                    zm = vload(z, m * W, W)
                    vstore(dS_in, r, vload(dS_in, r, W) + a_in * zm)
                    vstore(dS_c, r, vload(dS_c, r, W) + a_c * zm)
        for u in range(H):
            vstore(zo, (oc0 + n_cells + u) * W, vload(y_new, (off_hid + u) * W, W))
        # ---- output units and their errors (eq. 19); without all_out only at steps where a lane has a
        #      target (the others' outputs are NaN: no number of training depends on them) ----
        tg = zero
        if learn:                           # (without learning the targets are not read: Ds may be empty)
            for k in range(K):
                d = vgather(Ds, krow, k, W)
                tg = vwhere_eq(d, d, one, tg)
        vstore(tgt, 0, tg)
        some = all_out
        for l in range(W):
            some = some | (tgt[l] != 0.0)
        if some:
            k = 0
            while k < K:                        # four output units at a time, as the net inputs
                nb = min(4, K - k)
                a0 = zero
                a1 = zero
                a2 = zero
                a3 = zero
                for m in range(n_osrc):
                    zm = vload(zo, m * W, W)
                    r = (m * K + k) * W
                    a0 = a0 + vload(WT_k, r, W) * zm
                    if nb > 1:
                        a1 = a1 + vload(WT_k, r + W, W) * zm
                    if nb > 2:
                        a2 = a2 + vload(WT_k, r + 2 * W, W) * zm
                    if nb > 3:
                        a3 = a3 + vload(WT_k, r + 3 * W, W) * zm
                vstore(e_k, k * W, a0)
                if nb > 1:
                    vstore(e_k, (k + 1) * W, a1)
                if nb > 2:
                    vstore(e_k, (k + 2) * W, a2)
                if nb > 3:
                    vstore(e_k, (k + 3) * W, a3)
                k += nb
            _logistic_rows(e_k, y_k, fp_k, K)
            for k in range(K):
                y = vload(y_k, k * W, W)
                vstore(tmp, 0, y)
                for l in range(W):
                    Ys[row[l], k] = tmp[l]
                if learn:
                    d = vgather(Ds, krow, k, W)
                    if delta == 0:
                        e = y * (1.0 - y) * (d - y)
                    elif delta == 1:
                        e = d - y
                    else:
                        e = (y * (1.0 - y) + 0.1) * (d - y)
                    vstore(e_k, k * W, vwhere_eq(d, d, e, 0.0))   # no target (NaN): no error
        else:
            for l in range(W):
                for k in range(K):
                    Ys[row[l], k] = np.nan
        any_t = False
        for l in range(W):                  # a lane that stopped (or is done) trains no more
            if not alive[l]:
                tgt[l] = 0.0
            any_t = any_t | (tgt[l] != 0.0)
        if learn and any_t:
            tg = vload(tgt, 0, W)
            # ---- errors with the weights before this step's update ----
            for u in range(n_cells + H):
                a = zero
                for k in range(K):
                    a = a + vload(WT_k, ((oc0 + u) * K + k) * W, W) * vload(e_k, k * W, W)
                vstore(back, u * W, a)
            for q in range(n_cells):
                if has_og:
                    yo = vload(y_new, (C + blk[q]) * W, W)
                    es = yo * vload(hp_c, q * W, W) * vload(back, q * W, W)
                else:
                    es = 1.0 * vload(hp_c, q * W, W) * vload(back, q * W, W)
                vstore(e_s, q * W, es)
            # ---- updates (lanes without a target keep theirs) ----
            for m in range(n_osrc):
                zm = vload(zo, m * W, W)
                for k in range(K):
                    r = (m * K + k) * W
                    w = vload(U_k, r, W)
                    w1 = w + lr_v * vload(e_k, k * W, W) * zm * vload(MT_k, r, W)
                    vstore(U_k, r, vwhere(tg, w1, w))
            if has_og:
                for j in range(C):
                    a = zero
                    for v in range(S):
                        a = a + vload(h_c, (j * S + v) * W, W) * vload(back, (j * S + v) * W, W)
                    e_out = lr_v * vload(fp, (C + j) * W, W) * a
                    for m in range(n_src):
                        r = (m * n_hid + C + j) * W
                        w = vload(U_h, r, W)
                        w1 = w + e_out * vload(z, m * W, W) * vload(MT_h, r, W)
                        vstore(U_h, r, vwhere(tg, w1, w))
            for j in range(C):
                for m in range(n_src):
                    a = zero
                    for v in range(S):
                        a = a + vload(e_s, (j * S + v) * W, W) * vload(dS_in, ((j * S + v) * n_src + m) * W, W)
                    r = (m * n_hid + j) * W
                    w = vload(U_h, r, W)
                    w1 = w + lr_v * a * vload(MT_h, r, W)
                    vstore(U_h, r, vwhere(tg, w1, w))
            for q in range(n_cells):
                es = lr_v * vload(e_s, q * W, W)
                for m in range(n_src):
                    r = (m * n_hid + off_c + q) * W
                    w = vload(U_h, r, W)
                    w1 = w + es * vload(dS_c, (q * n_src + m) * W, W) * vload(MT_h, r, W)
                    vstore(U_h, r, vwhere(tg, w1, w))
            for u in range(H):
                ei = lr_v * vload(fp, (off_hid + u) * W, W) * vload(back, (n_cells + u) * W, W)
                for m in range(n_src):
                    r = (m * n_hid + off_hid + u) * W
                    w = vload(U_h, r, W)
                    w1 = w + ei * vload(z, m * W, W) * vload(MT_h, r, W)
                    vstore(U_h, r, vwhere(tg, w1, w))
        # ---- this step's hidden activations are the next step's recurrent sources ----
        for i in range(n_hid):
            vstore(z, (n_in + i) * W, vload(y_new, i * W, W))
        # ---- lanes whose sequence ended: per-sequence update, divergence check, next sequence ----
        for l in range(W):
            if alive[l]:
                cur[l] += 1
                if cur[l] == end[l]:
                    n_alive -= 1 - _settle(l, n_in, n_cells, n_src, n_osrc, use_sym, see_in, learn, acc, z, zo,
                                           s_c, dS_in, dS_c, prev, WT_h, WT_k, dWT_h, dWT_k, ends, lane_seq,
                                           cur, end, sq, alive, bad, fin_in, fin_c)
    if learn:
        dS_in[...] = fin_in
        dS_c[...] = fin_c
