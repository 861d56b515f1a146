"""Numba kernel of the 1997 LSTM: forward pass, truncated-RTRL traces, online updates.

Private: called only through :class:`lstm1997.learners.TruncatedRTRL` and
:func:`lstm1997.predict`, which validate every argument. The equations, in the order they
are computed here, are those of paper-spec §1.2 (forward), §2.3 (traces, eqs. 14/25/27) and
§2.4 (errors and updates, eqs. 19-28); the trace update sits right beside the forward
quantity it differentiates. Plain loops over contiguous float64 arrays, no temporaries in
the time-step loop.
"""

import numpy as np

from ._jit import JIT, njit


@njit(**JIT)
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@njit(**JIT)
def run_lstm(W_h, W_k, M_h, M_k,
             C, S, H, n_in, has_og, see_in, g_kind, h_kind,
             X, D, offsets, Y, dS_in, dS_c,
             lr, learn, per_step):
    """Run (and, if ``learn``, train) the network over every sequence of a ragged batch.

    W_h, W_k : weights, updated in place when ``learn``; M_h, M_k : 0/1 float masks.
    g_kind : 0 = g in [-2,2], 1 = g in [0,1];  h_kind : 0 = h in [-1,1], 1 = identity.
    X, D, offsets : the batch; D is NaN where there is no target.
    Y : output, the outputs y_k(t) at every step (computed before that step's update).
    dS_in, dS_c : ``(C*S, n_src)`` trace arrays (the learner's state), reset per sequence.
    per_step : apply each step's update at once (True) or sum them to the sequence end.
    Returns the index of the first sequence after which a weight is NaN or inf, or -1.
    """
    n_cells = C * S
    n_og = C if has_og else 0
    n_hid = C + n_og + n_cells + H
    n_src = n_in + n_hid + 1
    off_c = C + n_og
    off_hid = off_c + n_cells
    K = W_k.shape[0]
    n_osrc = W_k.shape[1]
    oc0 = n_in if see_in else 0

    z = np.zeros(n_src)            # [x(t), y_hidden(t-1), 1]
    zo = np.zeros(n_osrc)          # [x(t) if seen, y_c(t), y_hid(t), 1]
    net = np.zeros(n_hid)
    y_new = np.zeros(n_hid)        # hidden activations of this step (row order of W_h)
    fp = np.zeros(n_hid)           # f'(net) of gates and hidden units
    s_c = np.zeros(n_cells)
    h_c = np.zeros(n_cells)
    hp_c = np.zeros(n_cells)       # h'(s_c)
    back = np.zeros(n_cells + H)   # sum_k w[k,u] e_k for cells and hidden units
    e_k = np.zeros(K)
    e_s = np.zeros(n_cells)
    acc = not per_step
    dW_h = np.zeros_like(W_h) if (learn and acc) else np.zeros((0, 0))
    dW_k = np.zeros_like(W_k) if (learn and acc) else np.zeros((0, 0))
    bad = -1

    for seq in range(offsets.shape[0] - 1):
        # ---- reset at sequence start (spec §1.4) ----
        for i in range(n_hid):
            z[n_in + i] = 0.0
        z[n_src - 1] = 1.0
        zo[n_osrc - 1] = 1.0
        for q in range(n_cells):
            s_c[q] = 0.0
        if learn:
            for q in range(n_cells):
                for m in range(n_src):
                    dS_in[q, m] = 0.0
                    dS_c[q, m] = 0.0

        for t in range(offsets[seq], offsets[seq + 1]):
            for m in range(n_in):
                z[m] = X[t, m]
                if see_in:
                    zo[m] = X[t, m]
            # ---- net inputs of all hidden units from [x(t), y(t-1), 1] ----
            for i in range(n_hid):
                a = 0.0
                for m in range(n_src):
                    a += W_h[i, m] * z[m]
                net[i] = a
            # ---- gates: y_in, y_out = f(net) ----
            for j in range(C + n_og):
                y = _sigmoid(net[j])
                y_new[j] = y
                fp[j] = y * (1.0 - y)
            # ---- cells: s_c += y_in g(net_c);  y_c = y_out h(s_c);  traces dS ----
            for j in range(C):
                y_in = y_new[j]
                fp_in = fp[j]
                y_out = y_new[C + j] if has_og else 1.0
                for v in range(S):
                    q = j * S + v
                    sg = _sigmoid(net[off_c + q])
                    if g_kind == 0:
                        g = 4.0 * sg - 2.0
                        gp = 4.0 * sg * (1.0 - sg)
                    else:
                        g = sg
                        gp = sg * (1.0 - sg)
                    s = s_c[q] + y_in * g
                    s_c[q] = s
                    if h_kind == 0:
                        sh = _sigmoid(s)
                        h_c[q] = 2.0 * sh - 1.0
                        hp_c[q] = 2.0 * sh * (1.0 - sh)
                    else:
                        h_c[q] = s
                        hp_c[q] = 1.0
                    yc = y_out * h_c[q]
                    y_new[off_c + q] = yc
                    zo[oc0 + q] = yc
                    if learn:
                        # eq. 25/27: dS_in += g f'_in y^m ;  dS_c += y_in g' y^m
                        a_in = g * fp_in
                        a_c = y_in * gp
                        for m in range(n_src):
                            dS_in[q, m] += a_in * z[m]
                            dS_c[q, m] += a_c * z[m]
            # ---- conventional hidden units ----
            for u in range(H):
                y = _sigmoid(net[off_hid + u])
                y_new[off_hid + u] = y
                fp[off_hid + u] = y * (1.0 - y)
                zo[oc0 + n_cells + u] = y
            # ---- output units: y_k = f(w_k . [x?, y_c, y_hid, 1]) ----
            has_target = False
            for k in range(K):
                a = 0.0
                for m in range(n_osrc):
                    a += W_k[k, m] * zo[m]
                y = _sigmoid(a)
                Y[t, k] = y
                d = D[t, k]
                if d == d:  # not NaN
                    e_k[k] = y * (1.0 - y) * (d - y)      # eq. 19 (no factor 2)
                    has_target = True
                else:
                    e_k[k] = 0.0
            if learn and has_target:
                # ---- errors, all with the weights before this step's update (reading 18) ----
                for u in range(n_cells + H):
                    a = 0.0
                    for k in range(K):
                        a += W_k[k, oc0 + u] * e_k[k]
                    back[u] = a
                for q in range(n_cells):
                    j = q // S
                    y_out = y_new[C + j] if has_og else 1.0
                    e_s[q] = y_out * hp_c[q] * back[q]                     # eq. 23
                # ---- updates ----
                if acc:
                    Wk_upd = dW_k
                    Wh_upd = dW_h
                else:
                    Wk_upd = W_k
                    Wh_upd = W_h
                for k in range(K):                                            # eq. 22, outputs
                    ek = lr * e_k[k]
                    for m in range(n_osrc):
                        Wk_upd[k, m] += ek * zo[m] * M_k[k, m]
                if has_og:
                    for j in range(C):                                        # eqs. 21-22, output gates
                        a = 0.0
                        for v in range(S):
                            a += h_c[j * S + v] * back[j * S + v]
                        e_out = lr * fp[C + j] * a
                        for m in range(n_src):
                            Wh_upd[C + j, m] += e_out * z[m] * M_h[C + j, m]
                for j in range(C):                                            # eq. 26, input gates
                    for m in range(n_src):
                        a = 0.0
                        for v in range(S):
                            a += e_s[j * S + v] * dS_in[j * S + v, m]
                        Wh_upd[j, m] += lr * a * M_h[j, m]
                for q in range(n_cells):                                      # eq. 28, cell inputs
                    es = lr * e_s[q]
                    for m in range(n_src):
                        Wh_upd[off_c + q, m] += es * dS_c[q, m] * M_h[off_c + q, m]
                for u in range(H):                                            # eqs. 20, 22, hidden units
                    ei = lr * fp[off_hid + u] * back[n_cells + u]
                    for m in range(n_src):
                        Wh_upd[off_hid + u, m] += ei * z[m] * M_h[off_hid + u, m]
            # ---- this step's hidden activations are the next step's recurrent sources ----
            for i in range(n_hid):
                z[n_in + i] = y_new[i]

        if learn:
            if acc:
                for i in range(W_h.shape[0]):
                    for m in range(W_h.shape[1]):
                        W_h[i, m] += dW_h[i, m]
                        dW_h[i, m] = 0.0
                for k in range(K):
                    for m in range(n_osrc):
                        W_k[k, m] += dW_k[k, m]
                        dW_k[k, m] = 0.0
            if bad < 0:
                fin = True
                for i in range(W_h.shape[0]):
                    for m in range(W_h.shape[1]):
                        if not np.isfinite(W_h[i, m]):
                            fin = False
                for k in range(K):
                    for m in range(n_osrc):
                        if not np.isfinite(W_k[k, m]):
                            fin = False
                if not fin:
                    bad = seq
                    return bad
    return bad
