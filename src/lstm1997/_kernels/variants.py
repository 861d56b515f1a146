r"""Numba kernel of the later LSTM cell variants: forget gates (Gers, Schmidhuber & Cummins 2000) and
peephole connections (Gers, Schraudolph & Schmidhuber 2002), with their truncated-RTRL traces.

Private: called only through :class:`lstm1997.learners.TruncatedRTRL` and :func:`lstm1997.predict`
(``network._run_kernel``), which validate every argument, and only for an architecture with a variant;
the 1997 cell runs in ``lstm.py``, which this module leaves untouched. Same structure, same arithmetic
where the cells agree (``@njit(**JIT)`` wrapper + ``@njit(**JIT_NOALIAS)`` sequence loop, weights kept
transposed, the kernels' own ``exp``), and the same options (learn or not, per-step or per-sequence
updates, ``y_mode``, ``delta``, one-hot inputs, divergence reporting).

Forward step, per block j and cell v (q = j*S + v), sources ``z(t) = [x(t), y_hidden(t-1), 1]``::

    net_in_j  = w_in_j . z  + sum_v p_in[jv]  s_jv(t-1)          (peephole terms only with peepholes)
    net_phi_j = w_phi_j . z + sum_v p_phi[jv] s_jv(t-1)          y_phi_j = f(net_phi_j)  (1 without)
    s_q(t)    = y_phi_j s_q(t-1) + y_in_j g(net_c_q)
    net_out_j = w_out_j . z + sum_v p_out[jv] s_jv(t)            y_c_q = y_out_j h(s_q(t))

Truncated-RTRL traces (the truncation of the 1997 rule: every source of a gate's or cell input's net
input is cut from the gradient -- x, y_hidden(t-1), the bias and the peephole sources s(t-1), s(t) -- and
only the CEC path s(t-1) -> s(t), now scaled by y_phi(t), carries error back in time), reset to 0 at every
sequence start, updated right after s(t)::

    dS_c [q, m](t)  = y_phi_j dS_c [q, m](t-1) + y_in_j   g'(net_c_q)   z_m
    dS_in[q, m](t)  = y_phi_j dS_in[q, m](t-1) + g(net_c_q) f'(net_in_j)  z_m
    dS_phi[q, m](t) = y_phi_j dS_phi[q, m](t-1) + s_q(t-1) f'(net_phi_j) z_m
    dP_in [q, v'](t) = y_phi_j dP_in [q, v'](t-1) + g(net_c_q) f'(net_in_j)  s_jv'(t-1)     (peepholes)
    dP_phi[q, v'](t) = y_phi_j dP_phi[q, v'](t-1) + s_q(t-1) f'(net_phi_j) s_jv'(t-1)     (peepholes)

Errors and updates at a step with a target (all with the weights before the step's update)::

    e_s_q = y_out_j h'(s_q) back_q,   e_out_j = f'(net_out_j) sum_v h(s_jv) back_jv    (as in 1997)
    w[c_q, m]   += lr e_s_q dS_c[q, m]          w[in_j, m]  += lr sum_v e_s_jv dS_in[jv, m]
    w[phi_j, m] += lr sum_v e_s_jv dS_phi[jv, m]                w[out_j, m] += lr e_out_j z_m
    p_in[jv']   += lr sum_v e_s_jv dP_in[jv, v']     p_phi[jv'] += lr sum_v e_s_jv dP_phi[jv, v']
    p_out[jv]   += lr e_out_j s_jv(t)                (no trace: the output gate acts at once)
"""

import numpy as np

from ._jit import JIT, JIT_NOALIAS, njit
from ._math import logistic_into


@njit(**JIT)
def variant_layout(C, S, H, n_in, has_og, has_fg, see_in):
    """Sizes and offsets of the variant weight layout (``network.py``): ``(n_cells, n_og, n_fg, n_hid, n_src,
    off_phi, off_c, off_hid, oc0)`` = cells, output gates, forget gates, hidden units (rows of W_h), sources
    (columns of W_h), the first forget-gate row, the first cell row, the first conventional hidden row, and
    the first cell column of W_k. Without forget gates it is ``_math.layout`` with ``n_fg = 0``."""
    n_cells = C * S
    n_og = C if has_og else 0
    n_fg = C if has_fg else 0
    n_hid = C + n_og + n_fg + n_cells + H
    off_phi = C + n_og
    off_c = off_phi + n_fg
    return n_cells, n_og, n_fg, n_hid, n_in + n_hid + 1, off_phi, off_c, off_c + n_cells, n_in if see_in else 0


@njit(**JIT)
def run_variant(W_h, W_k, W_p, M_h, M_k, M_p,
                C, S, H, n_in, has_og, has_fg, has_pp, see_in, g_kind, h_kind,
                X, sym, use_sym, D, offsets, Y, dS_in, dS_c, dS_phi, dP_in, dP_phi,
                lr, learn, per_step, y_mode, delta):
    """Run (and, if ``learn``, train) a net with forget gates and/or peepholes over a ragged batch.

    As ``lstm.py: run_lstm``, plus: ``W_p``, ``M_p`` the peephole weights and their 0/1 mask (rows
    ``[in | out (if has_og) | phi (if has_fg)]``, one column per cell; zero rows without peepholes);
    ``has_fg``, ``has_pp`` the variants; ``dS_phi`` ``(C*S, n_src)`` the forget-gate traces (``(0, 0)``
    without forget gates), ``dP_in``, ``dP_phi`` ``(C*S, S)`` the peephole traces (``(0, 0)`` without
    peepholes or without forget gates for ``dP_phi``). Returns the index of the first sequence after which a
    weight is NaN or inf, or -1.
    """
    n_cells, n_og, n_fg, n_hid, n_src, off_phi, off_c, off_hid, oc0 = variant_layout(
        C, S, H, n_in, has_og, has_fg, see_in)
    K = W_k.shape[0]
    n_osrc = W_k.shape[1]

    z = np.zeros(n_src)            # [x(t), y_hidden(t-1), 1]
    zo = np.zeros(n_osrc)          # [x(t) if seen, y_c(t), y_hid(t), 1]
    net = np.zeros(n_hid)
    y_new = np.zeros(n_hid)        # hidden activations of this step (row order of W_h)
    fp = np.zeros(n_hid)           # f'(net) of gates and hidden units
    s_c = np.zeros(n_cells)
    sp_c = np.zeros(n_cells)       # s_c(t-1)
    g_c = np.zeros(n_cells)
    gp_c = np.zeros(n_cells)
    h_c = np.zeros(n_cells)
    hp_c = np.zeros(n_cells)
    back = np.zeros(n_cells + H)
    e_k = np.zeros(K)
    y_k = np.zeros(K)
    fp_k = np.zeros(K)
    sh_c = np.zeros(n_cells)
    shp_c = np.zeros(n_cells)
    e_s = np.zeros(n_cells)
    acc = not per_step
    WT_h = W_h.T.copy()
    WT_k = W_k.T.copy()
    WP = W_p.copy()
    MT_h = M_h.T.copy()
    MT_k = M_k.T.copy()
    MP = M_p.copy()
    dWT_h = np.zeros_like(WT_h) if (learn and acc) else np.zeros((0, 0))
    dWT_k = np.zeros_like(WT_k) if (learn and acc) else np.zeros((0, 0))
    dWP = np.zeros_like(WP) if (learn and acc) else np.zeros((0, 0))
    bad = _run(C, S, H, n_in, has_og, has_fg, has_pp, see_in, g_kind, h_kind, X, sym, use_sym, D, offsets, Y,
               dS_in, dS_c, dS_phi, dP_in, dP_phi, lr, learn, per_step, y_mode, delta,
               z, zo, net, y_new, fp, s_c, sp_c, g_c, gp_c, h_c, hp_c, back, e_k, y_k, fp_k, sh_c, shp_c, e_s,
               WT_h, WT_k, WP, MT_h, MT_k, MP, dWT_h, dWT_k, dWP)
    if learn:
        W_h[:, :] = WT_h.T
        W_k[:, :] = WT_k.T
        W_p[:, :] = WP
    return bad


@njit(**JIT_NOALIAS)
def _run(C, S, H, n_in, has_og, has_fg, has_pp, see_in, g_kind, h_kind, X, sym, use_sym, D, offsets, Y,
         dS_in, dS_c, dS_phi, dP_in, dP_phi, lr, learn, per_step, y_mode, delta,
         z, zo, net, y_new, fp, s_c, sp_c, g_c, gp_c, h_c, hp_c, back, e_k, y_k, fp_k, sh_c, shp_c, e_s,
         WT_h, WT_k, WP, MT_h, MT_k, MP, dWT_h, dWT_k, dWP):
    """The sequence loop of :func:`run_variant`, every array an argument and a distinct array (``noalias``,
    see ``_jit.py``). Returns ``bad`` as :func:`run_variant` does."""
    n_cells, n_og, n_fg, n_hid, n_src, off_phi, off_c, off_hid, oc0 = variant_layout(
        C, S, H, n_in, has_og, has_fg, see_in)
    K = WT_k.shape[1]
    n_osrc = WT_k.shape[0]
    p_out = 1                                   # rows of W_p: [in | out (if any) | phi (if any)]
    p_phi = 2 if has_og else 1

    acc = not per_step
    bad = -1
    iy = 0
    for seq in range(offsets.shape[0] - 1):
        # ---- reset at sequence start ----
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
                    if has_fg:
                        dS_phi[q, m] = 0.0
                if has_pp:
                    for v in range(S):
                        dP_in[q, v] = 0.0
                        if has_fg:
                            dP_phi[q, v] = 0.0

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
            for q in range(n_cells):
                sp_c[q] = s_c[q]                                   # s_c(t-1)
            # ---- peepholes into the input and forget gates: s_c(t-1) ----
            if has_pp:
                for j in range(C):
                    a = 0.0
                    for v in range(S):
                        a += WP[0, j * S + v] * sp_c[j * S + v]
                    net[j] += a
                    if has_fg:
                        a = 0.0
                        for v in range(S):
                            a += WP[p_phi, j * S + v] * sp_c[j * S + v]
                        net[off_phi + j] += a
            # ---- logistic of the net inputs (the output gates' later if they see s_c(t)) ----
            if has_pp and has_og:
                logistic_into(net, y_new, fp, 0, C)
                logistic_into(net, y_new, fp, off_phi, n_hid)
            else:
                logistic_into(net, y_new, fp, 0, n_hid)
            # ---- cells: s_c = y_phi s_c(t-1) + y_in g(net_c) ----
            for q in range(n_cells):
                j = q // S
                sg = y_new[off_c + q]
                if g_kind == 0:
                    g_c[q] = 4.0 * sg - 2.0
                    gp_c[q] = 4.0 * fp[off_c + q]
                else:
                    g_c[q] = sg
                    gp_c[q] = fp[off_c + q]
                if has_fg:
                    s_c[q] = y_new[off_phi + j] * sp_c[q] + y_new[j] * g_c[q]
                else:
                    s_c[q] += y_new[j] * g_c[q]
            # ---- the output gates' peepholes: s_c(t) ----
            if has_pp and has_og:
                for j in range(C):
                    a = 0.0
                    for v in range(S):
                        a += WP[p_out, j * S + v] * s_c[j * S + v]
                    net[C + j] += a
                logistic_into(net, y_new, fp, C, C + n_og)
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
            # ---- traces: decayed by y_phi along the CEC, plus this step's direct terms ----
            if learn:
                for q in range(n_cells):
                    j = q // S
                    a_in = g_c[q] * fp[j]
                    a_c = y_new[j] * gp_c[q]
                    if has_fg:
                        phi = y_new[off_phi + j]
                        a_phi = sp_c[q] * fp[off_phi + j]
                        for m in range(n_src):
                            zm = z[m]
                            dS_in[q, m] = phi * dS_in[q, m] + a_in * zm
                            dS_c[q, m] = phi * dS_c[q, m] + a_c * zm
                            dS_phi[q, m] = phi * dS_phi[q, m] + a_phi * zm
                        if has_pp:
                            for v in range(S):
                                sv = sp_c[j * S + v]
                                dP_in[q, v] = phi * dP_in[q, v] + a_in * sv
                                dP_phi[q, v] = phi * dP_phi[q, v] + a_phi * sv
                    else:
                        if use_sym:
                            dS_in[q, prev] += a_in
                            dS_c[q, prev] += a_c
                        for m in range(m0, n_src):
                            dS_in[q, m] += a_in * z[m]
                            dS_c[q, m] += a_c * z[m]
                        if has_pp:
                            for v in range(S):
                                dP_in[q, v] += a_in * sp_c[j * S + v]
            for u in range(H):
                zo[oc0 + n_cells + u] = y_new[off_hid + u]
            # ---- output units ----
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
                # ---- errors, all with the weights before this step's update ----
                for u in range(n_cells + H):
                    a = 0.0
                    for k in range(K):
                        a += WT_k[oc0 + u, k] * e_k[k]
                    back[u] = a
                for q in range(n_cells):
                    j = q // S
                    y_out = y_new[C + j] if has_og else 1.0
                    e_s[q] = y_out * hp_c[q] * back[q]
                # ---- updates ----
                if acc:
                    Wk_upd = dWT_k
                    Wh_upd = dWT_h
                    Wp_upd = dWP
                else:
                    Wk_upd = WT_k
                    Wh_upd = WT_h
                    Wp_upd = WP
                for m in range(n_osrc):                                       # outputs
                    zm = zo[m]
                    for k in range(K):
                        Wk_upd[m, k] += lr * e_k[k] * zm * MT_k[m, k]
                if has_og:
                    for j in range(C):                                        # output gates
                        a = 0.0
                        for v in range(S):
                            a += h_c[j * S + v] * back[j * S + v]
                        e_out = lr * fp[C + j] * a
                        for m in range(n_src):
                            Wh_upd[m, C + j] += e_out * z[m] * MT_h[m, C + j]
                        if has_pp:                                            # its peepholes: s_c(t)
                            for v in range(S):
                                Wp_upd[p_out, j * S + v] += e_out * s_c[j * S + v] * MP[p_out, j * S + v]
                for j in range(C):                                            # input gates
                    for m in range(n_src):
                        a = 0.0
                        for v in range(S):
                            a += e_s[j * S + v] * dS_in[j * S + v, m]
                        Wh_upd[m, j] += lr * a * MT_h[m, j]
                    if has_pp:
                        for w in range(S):
                            a = 0.0
                            for v in range(S):
                                a += e_s[j * S + v] * dP_in[j * S + v, w]
                            Wp_upd[0, j * S + w] += lr * a * MP[0, j * S + w]
                if has_fg:
                    for j in range(C):                                        # forget gates
                        for m in range(n_src):
                            a = 0.0
                            for v in range(S):
                                a += e_s[j * S + v] * dS_phi[j * S + v, m]
                            Wh_upd[m, off_phi + j] += lr * a * MT_h[m, off_phi + j]
                        if has_pp:
                            for w in range(S):
                                a = 0.0
                                for v in range(S):
                                    a += e_s[j * S + v] * dP_phi[j * S + v, w]
                                Wp_upd[p_phi, j * S + w] += lr * a * MP[p_phi, j * S + w]
                for q in range(n_cells):                                      # cell inputs
                    es = lr * e_s[q]
                    for m in range(n_src):
                        Wh_upd[m, off_c + q] += es * dS_c[q, m] * MT_h[m, off_c + q]
                for u in range(H):                                            # hidden units
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
                for r in range(WP.shape[0]):
                    for q in range(n_cells):
                        WP[r, q] += dWP[r, q]
                        dWP[r, q] = 0.0
            fin = True
            for m in range(n_src):
                for i in range(n_hid):
                    if not np.isfinite(WT_h[m, i]):
                        fin = False
            for m in range(n_osrc):
                for k in range(K):
                    if not np.isfinite(WT_k[m, k]):
                        fin = False
            for r in range(WP.shape[0]):
                for q in range(n_cells):
                    if not np.isfinite(WP[r, q]):
                        fin = False
            if not fin:
                bad = seq
                break
    return bad
