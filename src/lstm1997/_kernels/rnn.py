"""Numba kernels of the conventional recurrent nets (:mod:`lstm1997.rnn`): forward pass, exact RTRL
(per step or per sequence), full BPTT and Elman's one-step backpropagation.

Private: called only through :func:`lstm1997.rnn.predict_rnn` and the learners
:class:`~lstm1997.learners.rtrl.RTRL`, :class:`~lstm1997.learners.bptt_rnn.BPTTRNN` and
:class:`~lstm1997.learners.elman.Elman`, which validate every argument.

Weights are a flat vector ``wf`` of the present weights only, in compressed row order (see
``lstm1997.rnn._Plan``): unit ``i`` owns ``wf[ptr[i]:ptr[i+1]]`` reading the source columns
``cols[...]`` of ``z = [x(t) | y(t-1) | y(t) | 1]``; the input part of the row ends at ``pp[i]``, the
y(t-1) part at ``pn[i]``, the y(t) part at ``pb[i]``. Absent weights are never read or written, so
a step costs O(present weights), and with one-hot inputs (``use_sym``) only the input weight of the
current symbol (``widx[i, sym[t]]``) is read. The skipped input weights would only add exact zeros,
so the one-hot path gives bit-for-bit the numbers of the dense path. Error E(t) = 1/2 sum (d - y)^2,
dW = -lr dE/dW; a NaN target contributes nothing. Plain loops over float64 arrays.
"""

import numpy as np

from ._jit import JIT, njit
from ._math import sigmoid as _sigmoid


@njit(**JIT)
def _load_input(z, X, sym, use_sym, n_in, t, s_prev):
    """Write x(t) into ``z[:n_in]``; returns the symbol of step t (one-hot) or -1 (dense). ``z[:n_in]``
    holds the one-hot vector of ``s_prev`` (or zeros if ``s_prev < 0``) on entry in one-hot mode."""
    if use_sym:
        if s_prev >= 0:
            z[s_prev] = 0.0
        s = sym[t]
        z[s] = 1.0
        return s
    for m in range(n_in):
        z[m] = X[t, m]
    return -1


@njit(**JIT)
def _forward_units(wf, cols, ptr, pp, widx, N, n_in, z, fp, s):
    """Net inputs and activations of all units, in order: ``y_i = f(sum_w wf[w] z[cols[w]])``, written
    into ``z``'s y(t) part (read by later units of the same step); ``fp[i] = f'(net_i)``. With a symbol
    ``s >= 0`` only its input weight is read of the input part."""
    c_now = n_in + N
    for i in range(N):
        a = 0.0
        w0 = ptr[i]
        if s >= 0:
            w = widx[i, s]
            if w >= 0:
                a += wf[w]
            w0 = pp[i]
        w_row = wf[w0:ptr[i + 1]]
        c_row = cols[w0:ptr[i + 1]]
        for w in range(w_row.shape[0]):
            a += w_row[w] * z[c_row[w]]
        y = _sigmoid(a)
        z[c_now + i] = y
        fp[i] = y * (1.0 - y)


@njit(**JIT)
def _backward_units(wf, cols, pp, pn, pb, N, n_in, fp, top, a, delta, g):
    """Backpropagation through one step, units ``top, top-1, .., 0``.

    On entry ``a[j] = dL/dy_j(t)`` from outside the step (overwritten: the same-step contributions of
    later units are added). Sets ``delta[j] = dL/dnet_j(t)`` for ``j <= top`` and adds
    ``dL/dy_r(t-1) = sum_j delta_j w[j, prev_r]`` to ``g[r]``.
    """
    c_now = n_in + N
    for j in range(top, -1, -1):
        dj = fp[j] * a[j]
        delta[j] = dj
        if dj != 0.0:
            for w in range(pp[j], pn[j]):
                g[cols[w] - n_in] += dj * wf[w]
            for w in range(pn[j], pb[j]):
                a[cols[w] - c_now] += dj * wf[w]


@njit(**JIT)
def _output_errors(z, N, n_in, K, D, t, Y, yrow, a):
    """Outputs into ``Y[yrow]``; ``a[u] = dE(t)/dy_u(t)`` (= y - d at outputs with a target, else 0).
    Returns whether step t has any target."""
    c_out = n_in + 2 * N - K
    for u in range(N):
        a[u] = 0.0
    has = False
    for k in range(K):
        y = z[c_out + k]
        Y[yrow, k] = y
        d = D[t, k]
        if d == d:   # not NaN
            a[N - K + k] = y - d
            has = True
    return has


@njit(**JIT)
def _add_scaled(y, x, c):
    """``y += c * x`` elementwise (1-D views of equal length; indexing from 0 lets the loop vectorise)."""
    for w in range(y.shape[0]):
        y[w] += c * x[w]


@njit(**JIT)
def _add_delta_outer(y, c, delta, z, cols, ptr, pp, widx, N, s):
    """``y[w] += c * delta_i * z_j`` for every present weight ``w = (i, j)``; with a one-hot input
    (``s >= 0``) only the input column ``s`` of the inputs is visited."""
    for i in range(N):
        di = delta[i]
        if di != 0.0:
            w0 = ptr[i]
            if s >= 0:
                w = widx[i, s]
                if w >= 0:
                    y[w] += c * di
                w0 = pp[i]
            for w in range(w0, ptr[i + 1]):
                y[w] += c * (di * z[cols[w]])


@njit(**JIT)
def _all_finite(wf):
    for w in range(wf.shape[0]):
        if not np.isfinite(wf[w]):
            return False
    return True


@njit(**JIT)
def rnn_forward(wf, cols, ptr, pp, pn, pb, widx, N, n_in, K, X, sym, use_sym, offsets, Y):
    """Outputs ``Y (steps, K)`` of every step of every sequence (weights unchanged)."""
    n_src = n_in + 2 * N + 1
    z = np.zeros(n_src)
    z[n_src - 1] = 1.0
    fp = np.zeros(N)
    s = -1
    for seq in range(offsets.shape[0] - 1):
        for u in range(N):
            z[n_in + u] = 0.0
        for t in range(offsets[seq], offsets[seq + 1]):
            s = _load_input(z, X, sym, use_sym, n_in, t, s)
            _forward_units(wf, cols, ptr, pp, widx, N, n_in, z, fp, s)
            for k in range(K):
                Y[t, k] = z[n_in + 2 * N - K + k]
            for u in range(N):
                z[n_in + u] = z[n_in + N + u]


@njit(**JIT)
def rnn_rtrl(wf, cols, ptr, pp, pn, pb, widx, N, n_in, K, X, sym, use_sym, D, offsets, Y,
             rec, infl, segs, P, lr, per_step):
    """Exact real-time recurrent learning (Williams & Zipser 1989) over a ragged batch, in place.

    rec : the recurrent units (whose y(t-1) some unit reads), ``R = rec.shape[0]``.
    infl : the units whose weights can influence a recurrent unit; segs : their weights, as contiguous
        ranges ``[segs[q, 0], segs[q, 1])`` of ``wf`` (long loops over the sensitivities).
    P : sensitivities ``P[r * n_weights + w] = dy_rec[r](t)/dw`` (the learner's ``(R, n_weights)`` state,
        flattened: flat indexing lets the long loops vectorise), kept for the weights of the ``infl`` rows
        only (all others are 0 at every step), reset per sequence.

    Every step, with the weights before this step's update:

    * ``delta = dE(t)/dnet(t)``, ``g = dE(t)/dy(t-1)``: backpropagation through step t only;
    * ``dE(t)/dw = delta_i z_j(t) + sum_r g_r P[r, w](t-1)`` (exact: y(t-1) depends on w only
      through the recurrent units; the second term only for ``infl`` rows);
    * ``B[r', i] = dy_r'(t)/dnet_i(t)`` and ``J[r', r] = dy_r'(t)/dy_r(t-1)``, by backpropagating
      from each recurrent unit through step t;
      ``P[r', w](t) = B[r', i] z_j(t) + sum_r J[r', r] P[r, w](t-1)``.

    per_step : apply ``-lr dE(t)/dw`` at once (real-time RTRL) or sum it and apply it at the sequence
    end (then exactly ``-lr`` times the gradient of the sequence loss).
    Returns the index of the first sequence after which a weight is NaN or inf, or -1.
    """
    n_src = n_in + 2 * N + 1
    nW = wf.shape[0]
    nR = rec.shape[0]
    nI = infl.shape[0]
    nS = segs.shape[0]
    z = np.zeros(n_src)
    z[n_src - 1] = 1.0
    fp = np.zeros(N)
    a = np.zeros(N)
    delta = np.zeros(N)
    g = np.zeros(N)
    a2 = np.zeros(N)
    g2 = np.zeros(N)
    B = np.zeros((nR, N))
    J = np.zeros((nR, nR))
    Pn = np.zeros(nR * nW)
    V = np.zeros(nW)                                  # dE(t)/dw of the infl rows
    G = np.zeros(nW) if not per_step else np.zeros(0)  # per-sequence sum of dE(t)/dw
    is_infl = np.zeros(N, dtype=np.bool_)
    for ii in range(nI):
        is_infl[infl[ii]] = True
    s = -1
    bad = -1
    for seq in range(offsets.shape[0] - 1):
        # ---- reset at sequence start: y(t-1) = 0, sensitivities 0 ----
        for u in range(N):
            z[n_in + u] = 0.0
        for rr in range(nR):
            for q in range(nS):
                for w in range(rr * nW + segs[q, 0], rr * nW + segs[q, 1]):
                    P[w] = 0.0
        if not per_step:
            for w in range(nW):
                G[w] = 0.0
        for t in range(offsets[seq], offsets[seq + 1]):
            s = _load_input(z, X, sym, use_sym, n_in, t, s)
            _forward_units(wf, cols, ptr, pp, widx, N, n_in, z, fp, s)
            has = _output_errors(z, N, n_in, K, D, t, Y, t, a)
            # ---- error signals of step t: delta = dE/dnet(t), g = dE/dy(t-1) ----
            if has:
                for u in range(N):
                    g[u] = 0.0
                _backward_units(wf, cols, pp, pn, pb, N, n_in, fp, N - 1, a, delta, g)
            # ---- B[r', :] = dy_r'(t)/dnet(t), J[r', r] = dy_r'(t)/dy_r(t-1) ----
            for rr in range(nR):
                rp = rec[rr]
                for u in range(N):
                    a2[u] = 0.0
                    g2[u] = 0.0
                    B[rr, u] = 0.0
                a2[rp] = 1.0
                _backward_units(wf, cols, pp, pn, pb, N, n_in, fp, rp, a2, B[rr], g2)
                for r in range(nR):
                    J[rr, r] = g2[rec[r]]
            # ---- new sensitivities P(t) from P(t-1) ----
            for rr in range(nR):
                o = rr * nW
                for ii in range(nI):
                    i = infl[ii]
                    b = B[rr, i]
                    for w in range(ptr[i], ptr[i + 1]):
                        Pn[o + w] = b * z[cols[w]]
                for r in range(nR):
                    c = J[rr, r]
                    if c != 0.0:
                        o_r = r * nW
                        for q in range(nS):
                            lo, hi = segs[q, 0], segs[q, 1]
                            _add_scaled(Pn[o + lo:o + hi], P[o_r + lo:o_r + hi], c)
            # ---- dE(t)/dw, applied now or summed (P still holds P(t-1)) ----
            if has:
                for ii in range(nI):
                    i = infl[ii]
                    di = delta[i]
                    for w in range(ptr[i], ptr[i + 1]):
                        V[w] = di * z[cols[w]]
                for r in range(nR):
                    c = g[rec[r]]
                    if c != 0.0:
                        o_r = r * nW
                        for q in range(nS):
                            lo, hi = segs[q, 0], segs[q, 1]
                            _add_scaled(V[lo:hi], P[o_r + lo:o_r + hi], c)
                for i in range(N):
                    di = delta[i]
                    if is_infl[i]:
                        if per_step:
                            for w in range(ptr[i], ptr[i + 1]):
                                wf[w] -= lr * V[w]
                        else:
                            for w in range(ptr[i], ptr[i + 1]):
                                G[w] += V[w]
                    elif di != 0.0:
                        w0 = ptr[i]
                        if s >= 0:
                            w = widx[i, s]
                            if w >= 0:
                                if per_step:
                                    wf[w] -= lr * di
                                else:
                                    G[w] += di
                            w0 = pp[i]
                        if per_step:
                            for w in range(w0, ptr[i + 1]):
                                wf[w] -= lr * (di * z[cols[w]])
                        else:
                            for w in range(w0, ptr[i + 1]):
                                G[w] += di * z[cols[w]]
            for rr in range(nR):
                for q in range(nS):
                    for w in range(rr * nW + segs[q, 0], rr * nW + segs[q, 1]):
                        P[w] = Pn[w]
            for u in range(N):
                z[n_in + u] = z[n_in + N + u]
        if not per_step:
            for w in range(nW):
                wf[w] -= lr * G[w]
        if not _all_finite(wf):
            bad = seq
            break
    return bad


@njit(**JIT)
def rnn_bptt(wf, cols, ptr, pp, pn, pb, widx, N, n_in, K, X, sym, use_sym, D, offsets, Y, lr):
    """Full (untruncated) backpropagation through time: per sequence, the exact gradient of
    ``sum_t E(t)`` at the weights of the sequence start, applied (``-lr`` times) at its end.
    Returns the index of the first sequence after which a weight is NaN or inf, or -1."""
    n_src = n_in + 2 * N + 1
    nW = wf.shape[0]
    max_T = 0
    for seq in range(offsets.shape[0] - 1):
        max_T = max(max_T, offsets[seq + 1] - offsets[seq])
    Ys = np.zeros((max_T, N))      # y(t) of the sequence
    FP = np.zeros((max_T, N))      # f'(net(t))
    z = np.zeros(n_src)
    z[n_src - 1] = 1.0
    fp = np.zeros(N)
    a = np.zeros(N)
    delta = np.zeros(N)
    g = np.zeros(N)
    grec = np.zeros(N)             # dL/dy(t) arriving from step t+1 through the recurrent connections
    G = np.zeros(nW)
    s = -1
    bad = -1
    for seq in range(offsets.shape[0] - 1):
        o = offsets[seq]
        T = offsets[seq + 1] - o
        # ---- forward, recording y(t) and f'(net(t)) ----
        for u in range(N):
            z[n_in + u] = 0.0
        for t in range(T):
            s = _load_input(z, X, sym, use_sym, n_in, o + t, s)
            _forward_units(wf, cols, ptr, pp, widx, N, n_in, z, fp, s)
            for k in range(K):
                Y[o + t, k] = z[n_in + 2 * N - K + k]
            for u in range(N):
                Ys[t, u] = z[n_in + N + u]
                FP[t, u] = fp[u]
                z[n_in + u] = z[n_in + N + u]
        # ---- backward, t = T-1 .. 0 ----
        for w in range(nW):
            G[w] = 0.0
        for u in range(N):
            grec[u] = 0.0
        for t in range(T - 1, -1, -1):
            s = _load_input(z, X, sym, use_sym, n_in, o + t, s)
            for u in range(N):
                z[n_in + u] = Ys[t - 1, u] if t > 0 else 0.0
                z[n_in + N + u] = Ys[t, u]
                fp[u] = FP[t, u]
                a[u] = grec[u]
                g[u] = 0.0
            for k in range(K):
                d = D[o + t, k]
                if d == d:
                    a[N - K + k] += Ys[t, N - K + k] - d
            _backward_units(wf, cols, pp, pn, pb, N, n_in, fp, N - 1, a, delta, g)
            _add_delta_outer(G, 1.0, delta, z, cols, ptr, pp, widx, N, s)
            for u in range(N):
                grec[u] = g[u]
        for w in range(nW):
            wf[w] -= lr * G[w]
        if not _all_finite(wf):
            bad = seq
            break
    return bad


@njit(**JIT)
def rnn_elman(wf, cols, ptr, pp, pn, pb, widx, N, n_in, K, X, sym, use_sym, D, offsets, Y, lr):
    """Elman training: at every step with a target, backpropagation through that step only, the
    context y(t-1) a fixed input, and ``-lr dE(t)/dw`` applied at once.
    Returns the index of the first sequence after which a weight is NaN or inf, or -1."""
    n_src = n_in + 2 * N + 1
    z = np.zeros(n_src)
    z[n_src - 1] = 1.0
    fp = np.zeros(N)
    a = np.zeros(N)
    delta = np.zeros(N)
    g = np.zeros(N)   # dE/dy(t-1): computed by the shared backward pass, not used (the truncation)
    s = -1
    bad = -1
    for seq in range(offsets.shape[0] - 1):
        for u in range(N):
            z[n_in + u] = 0.0
        for t in range(offsets[seq], offsets[seq + 1]):
            s = _load_input(z, X, sym, use_sym, n_in, t, s)
            _forward_units(wf, cols, ptr, pp, widx, N, n_in, z, fp, s)
            if _output_errors(z, N, n_in, K, D, t, Y, t, a):
                _backward_units(wf, cols, pp, pn, pb, N, n_in, fp, N - 1, a, delta, g)
                _add_delta_outer(wf, -lr, delta, z, cols, ptr, pp, widx, N, s)
            for u in range(N):
                z[n_in + u] = z[n_in + N + u]
        if not _all_finite(wf):
            bad = seq
            break
    return bad
