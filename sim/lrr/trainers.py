"""Trainers of the single neuron behind one interface: ``train(trainer, theta0, X, y, mask)``.

* :class:`GD`: full-batch gradient descent with a fixed step size (batched over trials, torch);
* :class:`LBFGS`: limited-memory BFGS with an Armijo backtracking line search, each trial its own
  independent optimizer (per-trial history, curvature checks, step lengths and stopping), batched as
  tensor operations (torch);
* :class:`Flow`: the exact gradient flow of eq. (7), event-driven per trial with scipy (:mod:`sim.lrr.flow`).

Every trainer reports per trial: the final parameters, the loss, how many times a and w_1 changed sign
during training, how many iterations it ran (steps), and optionally a snapshot of the parameters after
``snapshot_at`` steps (the rewinding point of weight rewinding, WR).  The flow also reports how many
activation switches (samples crossing w^T x = 0) and sliding episodes it handled.  A per-trial numpy
implementation of GD and L-BFGS is in :mod:`sim.lrr.reference` (the oracle the tests compare against).
"""

from __future__ import annotations

import torch

from sim.core.draws import runs_per_draw
from sim.lrr.neuron import grad_only, loss_and_grad_from_z, loss_from_z, loss_only, preactivation
from sim.lrr.flow import train_flow
from sim.lrr.trainer_config import GD, LBFGS, Flow, Trainer, TrainResult  # noqa: F401


def _count_flips(old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    return ((old * new) < 0).long()


def train(trainer: Trainer, theta0: torch.Tensor, X: torch.Tensor, y: torch.Tensor, mask: torch.Tensor,
          snapshot_at: int | None = None) -> TrainResult:
    """Train the masked neuron from theta0 (pruned entries are zeroed first and stay zero)."""
    theta0 = theta0 * mask
    if isinstance(trainer, GD):
        return _train_gd(trainer, theta0, X, y, mask, snapshot_at)
    if isinstance(trainer, LBFGS):
        return _train_lbfgs(trainer, theta0, X, y, mask, snapshot_at)
    if isinstance(trainer, Flow):
        return train_flow(trainer, theta0, X, y, mask, snapshot_at)
    raise TypeError(f"not a trainer: {trainer!r}")


def _train_gd(tr: GD, theta, X, y, mask, snapshot_at):
    T = theta.shape[0]
    flips_a = torch.zeros(T, dtype=torch.long, device=theta.device)
    flips_w = torch.zeros_like(flips_a)
    snapshot = theta.clone() if snapshot_at == 0 else None
    for k in range(tr.steps):
        new = theta - tr.lr * grad_only(theta, X, y, mask)
        flips_a += _count_flips(theta[:, 0], new[:, 0])
        flips_w += _count_flips(theta[:, 1], new[:, 1])
        theta = new
        if snapshot_at is not None and k + 1 == snapshot_at:
            snapshot = theta.clone()
    if snapshot_at is not None and snapshot is None:
        snapshot = theta.clone()
    steps = torch.full((T,), tr.steps, dtype=torch.long, device=theta.device)
    return TrainResult(theta, loss_only(theta, X, y, mask), flips_a, flips_w, steps, snapshot)


def _two_loop(g, S, Yh, rho, B, gamma):
    """The L-BFGS two-loop recursion H g for every trial at once, as two triangular solves.

    History in time order (last index newest), empty slots with rho = 0.  With B_ij = s_i^T y_j the first
    loop's coefficients solve (I + diag(rho) triu(B, 1)) alpha = rho * (S g); then r0 = gamma (g - Y^T alpha)
    and the second loop's delta = alpha - beta solves (I + diag(rho) tril(B^T, -1)) delta = alpha - rho * (Y r0),
    giving H g = r0 + S^T delta.  Equal to the sequential recursion in exact arithmetic.  ``unitriangular``
    makes the solver ignore the diagonal and the other triangle, so diag(rho) B is passed as it is."""
    R = rho.unsqueeze(2)
    alpha = torch.linalg.solve_triangular(R * B, R * torch.bmm(S, g.unsqueeze(2)), upper=True, unitriangular=True)
    r0 = gamma.unsqueeze(1) * (g - torch.bmm(Yh.transpose(1, 2), alpha).squeeze(2))
    delta = torch.linalg.solve_triangular(R * B.transpose(1, 2), alpha - R * torch.bmm(Yh, r0.unsqueeze(2)),
                                          upper=False, unitriangular=True)
    return r0 + torch.bmm(S.transpose(1, 2), delta).squeeze(2)


def _armijo(x, z, zd, y, f, slope, direction, t0, searching, c1=1e-4, halvings=40):
    """Largest t in {t0, t0/2, ...} with Armijo decrease, per trial (0 where none is found).

    Pre-activations are linear in t along the direction, z(t) = z + t zd, so no pass over X is needed."""
    t = t0.clone()
    trial = loss_from_z(x[:, 0] + t0 * direction[:, 0], z + t0.unsqueeze(1) * zd, y)
    accepted = ~searching | (trial <= f + c1 * t0 * slope)
    idx = torch.nonzero(~accepted).squeeze(1)
    if idx.numel():
        ts = t0[idx, None] * 0.5 ** torch.arange(1, halvings + 1, dtype=x.dtype, device=x.device)  # (I, H)
        a_c = x[idx, 0, None] + ts * direction[idx, 0, None]
        z_c = z[idx, None, :] + ts.unsqueeze(2) * zd[idx, None, :]
        r_c = a_c.unsqueeze(2) * torch.relu(z_c) - y[idx, None, :]
        ok = 0.5 * (r_c * r_c).mean(dim=2) <= f[idx, None] + c1 * ts * slope[idx, None]
        found = ok.any(dim=1)
        pick = ts.gather(1, torch.argmax(ok.to(torch.int8), dim=1, keepdim=True)).squeeze(1)
        t[idx] = torch.where(found, pick, torch.zeros_like(pick))
    return t


def _train_lbfgs(tr: LBFGS, x, X, y, mask, snapshot_at):
    """Batched L-BFGS with torch.optim.LBFGS's semantics (see :class:`LBFGS`).

    The pre-activations z = X w are carried along (z <- z + t X d), so an iteration costs two passes over
    the data; z is recomputed exactly every ``_REFRESH`` iterations.  ``snapshot_at`` counts iterations."""
    T, P = x.shape
    m = tr.history
    dev, dt = x.device, x.dtype
    X_full, y_full, mask_full = X, y, mask
    per_draw = runs_per_draw(T, X)  # runs reading each data set (sim.lrr.neuron.batched_xw)
    z = preactivation(x, X, mask)
    f, g = loss_and_grad_from_z(x[:, 0], z, X, y, mask)
    S = torch.zeros(T, m, P, dtype=dt, device=dev)
    Yh = torch.zeros_like(S)
    B = torch.zeros(T, m, m, dtype=dt, device=dev)
    rho = torch.zeros(T, m, dtype=dt, device=dev)
    gamma = torch.ones(T, dtype=dt, device=dev)
    started = torch.zeros(T, dtype=torch.bool, device=dev)
    stored = torch.zeros(T, dtype=torch.long, device=dev)
    running = torch.ones(T, dtype=torch.bool, device=dev)  # not converged, not stuck, epochs left
    epochs_used = torch.zeros(T, dtype=torch.long, device=dev)
    inner = torch.zeros(T, dtype=torch.long, device=dev)
    g_prev = g.clone()
    d_prev = torch.zeros_like(x)
    t_prev = torch.zeros(T, dtype=dt, device=dev)
    flips_a = torch.zeros(T, dtype=torch.long, device=dev)
    flips_w = torch.zeros_like(flips_a)
    steps = torch.zeros_like(flips_a)
    snapshot = x.clone() if snapshot_at == 0 else None
    it = 0
    # Trials finish at very different times; every _COMPACT iterations the working batch is shrunk to the
    # trials still running (``where`` maps rows of the working batch to trials), so the cost follows the
    # number of running trials instead of the slowest one.  Runs sharing a data set go as a group.
    where = torch.arange(T, device=dev)
    out_x, out_flips_a, out_flips_w, out_steps = x.clone(), flips_a.clone(), flips_w.clone(), steps.clone()
    while True:
        # a step() call that starts with a small gradient returns at once: the trial has converged
        at_epoch_start = inner == 0
        running &= ~(at_epoch_start & (g.abs().amax(dim=1) <= tr.tolerance_grad))
        running &= epochs_used < tr.epochs
        if not bool(running.any()):
            break
        keep_rows = None
        if it % _COMPACT == 0:
            # runs that share a data set leave together (a finished one waits, frozen, for the others) until
            # a quarter of the kept rows are frozen; then each running run takes its own copy of its data
            # (one copy, as P = 1 from then on), so frozen rows stop costing iterations.  Replayed on the step
            # counts of the paper-scale Fig. 18 cells, this rule does 1.00-1.11x the row-iterations of
            # training each method on its own, in one loop instead of P.
            live_draw = running.view(-1, per_draw).any(1)
            live = live_draw.repeat_interleave(per_draw)
            if per_draw > 1 and int(running.sum()) <= 0.75 * int(live.sum()):
                keep_rows = torch.nonzero(running).squeeze(1)
                X, per_draw = X[keep_rows // per_draw], 1
            elif int(live.sum()) <= 0.75 * live.numel():
                keep_rows = torch.nonzero(live).squeeze(1)
                X = X[live_draw]
        if keep_rows is not None:
            out_x[where], out_flips_a[where], out_flips_w[where], out_steps[where] = x, flips_a, flips_w, steps
            where = where[keep_rows]
            (x, z, f, g, S, Yh, B, rho, gamma, started, stored, running, epochs_used, inner, g_prev, d_prev, t_prev,
             flips_a, flips_w, steps, y, mask) = (
                v[keep_rows] for v in (x, z, f, g, S, Yh, B, rho, gamma, started, stored, running, epochs_used, inner,
                                       g_prev, d_prev, t_prev, flips_a, flips_w, steps, y, mask))
            T = x.shape[0]
        # store the last pair (s, y) where s^T y > 1e-10, then the direction by the two-loop recursion
        s_last = d_prev * t_prev.unsqueeze(1)
        y_last = g - g_prev
        ys = (s_last * y_last).sum(dim=1)
        keep = running & started & (ys > 1e-10)
        idx = torch.nonzero(keep).squeeze(1)
        if idx.numel():  # append (s, y) to those trials' histories, dropping the oldest pair
            sk, yk = s_last[idx], y_last[idx]
            S_k = torch.cat([S[idx, 1:], sk.unsqueeze(1)], dim=1)
            Y_k = torch.cat([Yh[idx, 1:], yk.unsqueeze(1)], dim=1)
            B_k = torch.empty_like(B[idx])
            B_k[:, :-1, :-1] = B[idx, 1:, 1:]
            B_k[:, -1, :] = torch.bmm(Y_k, sk.unsqueeze(2)).squeeze(2)  # s_new^T y_j
            B_k[:, :, -1] = torch.bmm(S_k, yk.unsqueeze(2)).squeeze(2)  # s_i^T y_new
            S[idx], Yh[idx], B[idx] = S_k, Y_k, B_k
            rho[idx] = torch.cat([rho[idx, 1:], (1.0 / ys[idx]).unsqueeze(1)], dim=1)
            gamma[idx] = ys[idx] / (yk * yk).sum(dim=1).clamp_min(1e-300)
            stored[idx] = torch.clamp(stored[idx] + 1, max=m)
        c = max(int(stored.max()), 1)  # only the filled tail of the history takes part
        hg = _two_loop(g, S[:, m - c:], Yh[:, m - c:], rho[:, m - c:], B[:, m - c:, m - c:], gamma)
        direction = torch.where(started.unsqueeze(1), -hg, -g)
        t0 = torch.where(started, torch.full_like(t_prev, tr.lr),
                         torch.clamp(1.0 / g.abs().sum(dim=1).clamp_min(1e-300), max=1.0) * tr.lr)
        slope = (g * direction).sum(dim=1)
        stuck = running & (slope > -tr.tolerance_change)  # torch breaks without a step, forever after
        moving = running & ~stuck
        zd = preactivation(direction, X, mask)
        if tr.line_search == "armijo":
            t = _armijo(x, z, zd, y, f, slope, direction, t0, moving)
        else:
            t = t0
        t = torch.where(moving, t, torch.zeros_like(t))
        x_new = x + t.unsqueeze(1) * direction
        it += 1
        z = preactivation(x_new, X, mask) if it % _REFRESH == 0 else z + t.unsqueeze(1) * zd
        f_new, g_new = loss_and_grad_from_z(x_new[:, 0], z, X, y, mask)
        flips_a += _count_flips(x[:, 0], x_new[:, 0])
        flips_w += _count_flips(x[:, 1], x_new[:, 1])
        steps += moving.long()
        # bookkeeping of torch's step() calls
        g_prev = torch.where(moving.unsqueeze(1), g, g_prev)
        d_prev = torch.where(moving.unsqueeze(1), direction, d_prev)
        t_prev = torch.where(moving, t, t_prev)
        started |= moving
        inner = inner + moving.long()
        ends = moving & ((inner >= tr.max_iter) | (inner >= (tr.max_iter * 5) // 4 - 1) | (g_new.abs().amax(dim=1) <= tr.tolerance_grad)
                         | ((t.unsqueeze(1) * direction).abs().amax(dim=1) <= tr.tolerance_change)
                         | ((f_new - f).abs() < tr.tolerance_change))
        epochs_used += ends.long()
        inner = torch.where(ends, torch.zeros_like(inner), inner)
        running &= ~stuck
        mv = moving.unsqueeze(1)
        x, f, g = torch.where(mv, x_new, x), torch.where(moving, f_new, f), torch.where(mv, g_new, g)
        if snapshot_at is not None and it == snapshot_at:
            snapshot = out_x.clone()
            snapshot[where] = x
    out_x[where], out_flips_a[where], out_flips_w[where], out_steps[where] = x, flips_a, flips_w, steps
    if snapshot_at is not None and snapshot is None:
        snapshot = out_x.clone()
    return TrainResult(out_x, loss_only(out_x, X_full, y_full, mask_full), out_flips_a, out_flips_w, out_steps, snapshot)


_REFRESH = 50
_COMPACT = 25
