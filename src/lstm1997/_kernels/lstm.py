"""Numba kernel of the 1997 LSTM: forward pass, truncated-RTRL traces, online updates.

Private: called only through :class:`lstm1997.learners.TruncatedRTRL` and
:func:`lstm1997.predict`, which validate every argument. The equations, in the order they
are computed here, are those of paper-spec §1.2 (forward), §2.3 (traces, eqs. 14/25/27) and
§2.4 (errors and updates, eqs. 19-28); the trace update sits right beside the forward
quantity it differentiates. Plain loops over contiguous float64 arrays, no temporaries in
the time-step loop.
"""

import numpy as np

from ._jit import JIT, JIT_NOALIAS, njit
from ._math import layout, logistic_into


@njit(**JIT)
def run_lstm(W_h, W_k, M_h, M_k,
             C, S, H, n_in, has_og, see_in, g_kind, h_kind,
             X, sym, use_sym, D, offsets, Y, dS_in, dS_c,
             lr, learn, per_step, y_mode, delta):
    """Run (and, if ``learn``, train) the network over every sequence of a ragged batch.

    W_h, W_k : weights, updated in place when ``learn``; M_h, M_k : 0/1 float masks.
    g_kind : 0 = g in [-2,2], 1 = g in [0,1];  h_kind : 0 = h in [-1,1], 1 = identity.
    X, D, offsets : the batch; D is NaN where there is no target.
    sym, use_sym : if ``use_sym``, the input at step t is one-hot of ``sym[t]`` and X is not read; only
        that input column is touched (net inputs and traces), which gives bit-for-bit the numbers of the
        dense path: the skipped columns would only add exact zeros.
    Y : output, the outputs y_k(t) (computed before that step's update): with ``y_mode`` 0 at every step
        (``(steps, K)``), 1 only at the steps with a target, in order (``(target steps, K)``), 2 none
        (``(0, K)``: memory independent of the length of the data).
    dS_in, dS_c : ``(C*S, n_src)`` trace arrays (the learner's state), reset per sequence.
    per_step : apply each step's update at once (True) or sum them to the sequence end.
    delta : the output error: 0 = f'(net_k) (d_k - y_k) (eq. 19), 1 = d_k - y_k (no f'; a diagnostic), 2 =
        (f'(net_k) + 0.1) (d_k - y_k) (Fahlman's flat-spot fix; a diagnostic).
    Returns the index of the first sequence after which a weight is NaN or inf, or -1 (training
    stops there; the weights are left as they were at that point).
    """
    n_cells, n_og, n_hid, n_src, off_c, off_hid, oc0 = layout(C, S, H, n_in, has_og, see_in)
    K = W_k.shape[0]
    n_osrc = W_k.shape[1]

    z = np.zeros(n_src)            # [x(t), y_hidden(t-1), 1]
    zo = np.zeros(n_osrc)          # [x(t) if seen, y_c(t), y_hid(t), 1]
    net = np.zeros(n_hid)
    y_new = np.zeros(n_hid)        # hidden activations of this step (row order of W_h)
    fp = np.zeros(n_hid)           # f'(net) of gates and hidden units
    s_c = np.zeros(n_cells)
    g_c = np.zeros(n_cells)        # g(net_c)
    gp_c = np.zeros(n_cells)       # g'(net_c)
    h_c = np.zeros(n_cells)
    hp_c = np.zeros(n_cells)       # h'(s_c)
    back = np.zeros(n_cells + H)   # sum_k w[k,u] e_k for cells and hidden units
    e_k = np.zeros(K)
    y_k = np.zeros(K)
    fp_k = np.zeros(K)
    sh_c = np.zeros(n_cells)      # sigmoid(s_c), from which h is made
    shp_c = np.zeros(n_cells)
    e_s = np.zeros(n_cells)
    acc = not per_step
    # Working copies stored transposed (source-major): the net inputs then accumulate column by
    # column into independent per-unit sums (same summation order as a row-wise dot product, so
    # bit-for-bit the same numbers, but vectorisable). Copied back to W_h, W_k before returning.
    WT_h = W_h.T.copy()
    WT_k = W_k.T.copy()
    MT_h = M_h.T.copy()
    MT_k = M_k.T.copy()
    dWT_h = np.zeros_like(WT_h) if (learn and acc) else np.zeros((0, 0))
    dWT_k = np.zeros_like(WT_k) if (learn and acc) else np.zeros((0, 0))
    bad = _run(C, S, H, n_in, has_og, see_in, g_kind, h_kind, X, sym, use_sym, D, offsets, Y, dS_in, dS_c, lr,
               learn, per_step, y_mode, delta, z, zo, net, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, back, e_k, y_k, fp_k, sh_c, shp_c,
               e_s, WT_h, WT_k, MT_h, MT_k, dWT_h, dWT_k)
    if learn:
        W_h[:, :] = WT_h.T
        W_k[:, :] = WT_k.T
    return bad


@njit(**JIT_NOALIAS)
def _run(C, S, H, n_in, has_og, see_in, g_kind, h_kind, X, sym, use_sym, D, offsets, Y, dS_in, dS_c, lr, learn,
         per_step, y_mode, delta, z, zo, net, y_new, fp, s_c, g_c, gp_c, h_c, hp_c, back, e_k, y_k, fp_k, sh_c, shp_c, e_s,
         WT_h, WT_k, MT_h, MT_k, dWT_h, dWT_k):
    """The sequence loop of :func:`run_lstm`, every array an argument and a distinct array: compiled with
    ``noalias`` (see ``_jit.py``), so that LLVM vectorises the loops over units without run-time overlap
    checks. Returns ``bad`` as :func:`run_lstm` does."""
    n_cells, n_og, n_hid, n_src, off_c, off_hid, oc0 = layout(C, S, H, n_in, has_og, see_in)
    K = WT_k.shape[1]
    n_osrc = WT_k.shape[0]

    acc = not per_step
    bad = -1
    iy = 0
    for seq in range(offsets.shape[0] - 1):
        # ---- reset at sequence start (spec §1.4) ----
        for i in range(n_hid):
            z[n_in + i] = 0.0
        z[n_src - 1] = 1.0
        zo[n_osrc - 1] = 1.0
        for q in range(n_cells):
            s_c[q] = 0.0
        if use_sym:
            for m in range(n_in):
                z[m] = 0.0
                if see_in:
                    zo[m] = 0.0
        prev = 0
        if learn:
            for q in range(n_cells):
                for m in range(n_src):
                    dS_in[q, m] = 0.0
                    dS_c[q, m] = 0.0

        for t in range(offsets[seq], offsets[seq + 1]):
            if use_sym:
                z[prev] = 0.0
                if see_in:
                    zo[prev] = 0.0
                prev = sym[t]
                z[prev] = 1.0
                if see_in:
                    zo[prev] = 1.0
            else:
                for m in range(n_in):
                    z[m] = X[t, m]
                    if see_in:
                        zo[m] = X[t, m]
            # ---- net inputs of all hidden units from [x(t), y(t-1), 1] ----
            for i in range(n_hid):
                net[i] = 0.0
            m0 = 0
            if use_sym:
                m0 = n_in
                for i in range(n_hid):
                    net[i] += WT_h[prev, i]
            for m in range(m0, n_src):
                zm = z[m]
                for i in range(n_hid):
                    net[i] += WT_h[m, i] * zm
            # ---- logistic of every hidden net input: the gates' and hidden units' activations, and
            #      sigmoid(net_c) from which g is made (independent exp calls, in one loop) ----
            logistic_into(net, y_new, fp, 0, n_hid)
            # ---- cells: s_c += y_in g(net_c)  (the CEC, self-weight 1.0) ----
            for q in range(n_cells):
                j = q // S
                sg = y_new[off_c + q]
                if g_kind == 0:
                    g_c[q] = 4.0 * sg - 2.0
                    gp_c[q] = 4.0 * fp[off_c + q]
                else:
                    g_c[q] = sg
                    gp_c[q] = fp[off_c + q]
                s_c[q] += y_new[j] * g_c[q]
            # ---- y_c = y_out h(s_c) ----
            if h_kind == 0:
                logistic_into(s_c, sh_c, shp_c, 0, n_cells)
            for q in range(n_cells):
                if h_kind == 0:
                    sh = sh_c[q]
                    h_c[q] = 2.0 * sh - 1.0
                    hp_c[q] = 2.0 * sh * (1.0 - sh)
                else:
                    h_c[q] = s_c[q]
                    hp_c[q] = 1.0
            for q in range(n_cells):
                yc = h_c[q] * (y_new[C + q // S] if has_og else 1.0)
                y_new[off_c + q] = yc
                zo[oc0 + q] = yc
            # ---- traces, eqs. 25/27: dS_in += g f'_in y^m ;  dS_c += y_in g' y^m ----
            if learn:
                for q in range(n_cells):
                    j = q // S
                    a_in = g_c[q] * fp[j]
                    a_c = y_new[j] * gp_c[q]
                    if use_sym:
                        dS_in[q, prev] += a_in
                        dS_c[q, prev] += a_c
                    for m in range(m0, n_src):
                        dS_in[q, m] += a_in * z[m]
                        dS_c[q, m] += a_c * z[m]
            for u in range(H):
                zo[oc0 + n_cells + u] = y_new[off_hid + u]
            # ---- output units: y_k = f(w_k . [x?, y_c, y_hid, 1]) ----
            has_target = False
            for k in range(K):
                e_k[k] = 0.0
            for m in range(n_osrc):
                zm = zo[m]
                for k in range(K):
                    e_k[k] += WT_k[m, k] * zm     # e_k holds net_k until the errors below
            logistic_into(e_k, y_k, fp_k, 0, K)
            for k in range(K):
                y = y_k[k]
                if y_mode == 0:
                    Y[t, k] = y
                d = D[t, k]
                if d == d:  # not NaN
                    if delta == 0:
                        e_k[k] = y * (1.0 - y) * (d - y)      # eq. 19 (no factor 2)
                    elif delta == 1:
                        e_k[k] = d - y
                    else:
                        e_k[k] = (y * (1.0 - y) + 0.1) * (d - y)
                    has_target = True
                else:
                    e_k[k] = 0.0
            if y_mode == 1 and has_target:
                for k in range(K):
                    Y[iy, k] = y_k[k]
                iy += 1
            if learn and has_target:
                # ---- errors, all with the weights before this step's update (reading 18) ----
                for u in range(n_cells + H):
                    a = 0.0
                    for k in range(K):
                        a += WT_k[oc0 + u, k] * e_k[k]
                    back[u] = a
                for q in range(n_cells):
                    j = q // S
                    y_out = y_new[C + j] if has_og else 1.0
                    e_s[q] = y_out * hp_c[q] * back[q]                     # eq. 23
                # ---- updates ----
                if acc:
                    Wk_upd = dWT_k
                    Wh_upd = dWT_h
                else:
                    Wk_upd = WT_k
                    Wh_upd = WT_h
                for m in range(n_osrc):                                       # eq. 22, outputs
                    zm = zo[m]
                    for k in range(K):
                        Wk_upd[m, k] += lr * e_k[k] * zm * MT_k[m, k]
                if has_og:
                    for j in range(C):                                        # eqs. 21-22, output gates
                        a = 0.0
                        for v in range(S):
                            a += h_c[j * S + v] * back[j * S + v]
                        e_out = lr * fp[C + j] * a
                        for m in range(n_src):
                            Wh_upd[m, C + j] += e_out * z[m] * MT_h[m, C + j]
                for j in range(C):                                            # eq. 26, input gates
                    for m in range(n_src):
                        a = 0.0
                        for v in range(S):
                            a += e_s[j * S + v] * dS_in[j * S + v, m]
                        Wh_upd[m, j] += lr * a * MT_h[m, j]
                for q in range(n_cells):                                      # eq. 28, cell inputs
                    es = lr * e_s[q]
                    for m in range(n_src):
                        Wh_upd[m, off_c + q] += es * dS_c[q, m] * MT_h[m, off_c + q]
                for u in range(H):                                            # eqs. 20, 22, hidden units
                    ei = lr * fp[off_hid + u] * back[n_cells + u]
                    for m in range(n_src):
                        Wh_upd[m, off_hid + u] += ei * z[m] * MT_h[m, off_hid + u]
            # ---- this step's hidden activations are the next step's recurrent sources ----
            for i in range(n_hid):
                z[n_in + i] = y_new[i]

        if learn:
            if acc:
                for m in range(n_src):
                    for i in range(n_hid):
                        WT_h[m, i] += dWT_h[m, i]
                        dWT_h[m, i] = 0.0
                for m in range(n_osrc):
                    for k in range(K):
                        WT_k[m, k] += dWT_k[m, k]
                        dWT_k[m, k] = 0.0
            fin = True
            for m in range(n_src):
                for i in range(n_hid):
                    if not np.isfinite(WT_h[m, i]):
                        fin = False
            for m in range(n_osrc):
                for k in range(K):
                    if not np.isfinite(WT_k[m, k]):
                        fin = False
            if not fin:
                bad = seq
                break
    return bad
