"""Exact gradient flow of eq. (7) for one trial, event-driven (scipy), with sliding modes handled.

Between activation switches the active set I = {i : w^T x_i > 0} is fixed, and eq. (7) is the smooth
polynomial system  w' = -a^2 C1 w + a C2,  a' = -a w^T C1 w + C2^T w  with C1, C2 of that set
(:func:`theory.lrr.gradient_flow.constants_on` and :func:`theory.lrr.gradient_flow.rhs_from_constants`).  A terminal event fires when a
sample's pre-activation w^T x_i crosses zero; the integration restarts with the new active set.

The right-hand side jumps across the surface w^T x_i = 0: on it the sample contributes a y_i x_i / n to w'
when counted active and nothing when inactive (its residual is -y_i there).  If both sides push towards
the surface, the solution slides along it (Filippov): we keep x_i^T w = 0 with w' = F_off + lambda_i b_i,
b_i = a y_i x_i / n, lambda_i in [0, 1] chosen so that x_i^T w' = 0 (for several sliding samples at once,
a small linear system), until some lambda_i leaves [0, 1] (another terminal event) and the sample leaves
the surface on the side that pushes it away.  Switches, sliding episodes and sign changes of a and w_1
(non-terminal events) are counted and reported.

At w = 0 every sample sits on its surface at once (a pruned neuron's last input running into 0, or w driven
into the origin in d dimensions).  There the field is set-valued: in the cell of directions with active set
S it is w' = a C2(S) + O(w), a' = O(w).  A solution leaves the origin along a ray v exactly when v lies in
the cell whose field it is, v = a C2(S) with S = {i : x_i^T v > 0}.  :func:`origin_exit` looks for such a
ray, starting from the cell straight ahead of the arrival velocity (for d = 1 this is Filippov's crossing
rule: both one-sided fields point the same way, so the solution crosses); when there is one, the flow leaves
along it, and only when there is none is the origin a stationary point where the flow stops (``at_origin``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import DOP853
from scipy.optimize import brentq

from sim.core.draws import runs_per_draw
from sim.lrr.trainer_config import Flow, TrainResult
from theory.lrr.gradient_flow import constants_on, rhs_from_constants


@dataclass
class FlowResult:
    theta: np.ndarray
    loss: float
    flips_a: int
    flips_w1: int
    switches: int
    sliding: int
    segments: int
    truncated: bool  # stopped by max_events before t_end
    snapshot: np.ndarray | None
    at_origin: bool = False  # w reached 0, a stationary point, before t_end (held there)
    origin_crossings: int = 0  # times w reached 0 and left it along a consistent ray (origin_exit)


class _Segment:
    """The smooth vector field for one fixed active set and one set of sliding samples."""

    def __init__(self, X, y, active, slide):
        self.n = X.shape[0]
        self.C1, self.C2 = constants_on(active, X, y)
        self.XS = X[slide]
        self.yS = y[slide]
        self.GS = self.XS @ self.XS.T  # Gram matrix of the sliding samples

    def lambdas(self, theta, w_base_dot=None):
        """Filippov weights of the sliding samples at theta (empty when none slides); ``w_base_dot`` is
        w' without the sliding samples, when the caller has it already."""
        if self.XS.shape[0] == 0:
            return np.zeros(0)
        a = theta[0]
        if w_base_dot is None:
            w_base_dot = rhs_from_constants(a, theta[1:], self.C1, self.C2)[1]
        # x_j^T (F_off + sum_i lambda_i a y_i x_i / n) = 0  for every sliding j
        G = (a / self.n) * self.GS * self.yS[None, :]
        return np.linalg.lstsq(G, -self.XS @ w_base_dot, rcond=None)[0]

    def rhs(self, theta):
        a_dot, w_dot = rhs_from_constants(theta[0], theta[1:], self.C1, self.C2)
        if self.XS.shape[0]:
            w_dot = w_dot + (theta[0] / self.n) * (self.XS.T @ (self.lambdas(theta, w_dot) * self.yS))
        return np.concatenate([[a_dot], w_dot])


def _field_along(X, y, active, slide, theta, i):
    """x_i^T w' under the given statuses."""
    return float(X[i] @ _Segment(X, y, active, slide).rhs(theta)[1:])


def _nudge(theta, x, side):
    """Move w by a relative 1e-13 along x so that side * x^T w > 0 holds strictly after a switch.

    At a switch the sample sits on the surface up to round-off (its margin may be -1e-17 on the side it
    is now counted on); the event function min_i s_i x_i^T w would then start negative and a crossing of
    another sample within the first step would go unseen."""
    w = theta[1:]
    eps = 1e-13 * np.linalg.norm(x) * max(np.linalg.norm(w), 1e-300)
    m = float(x @ w)
    if side * m < eps:
        theta = theta.copy()
        theta[1:] = w + (side * eps - m) * x / (x @ x)
    return theta


def origin_exit(X: np.ndarray, y: np.ndarray, a: float, v_in: np.ndarray, max_iter: int = 100
                ) -> tuple[np.ndarray, np.ndarray] | None:
    """The ray along which the flow leaves w = 0 (with a != 0), or None when the origin is stationary.

    At w = 0 the field of the cell with active set S is w' = a C2(S), C2(S) = (1/n) sum_{i in S} y_i x_i.  A
    ray w = t v (t > 0) solves the flow to first order iff v = a C2(S(v)) with S(v) = {i : x_i^T v > 0}: the
    ray lies in the cell whose field it follows.  We start from the cell straight ahead of the arrival
    velocity ``v_in`` (S = {i : x_i^T v_in > 0}) and iterate S -> S(a C2(S)) until it repeats.  A fixed point
    with every margin x_i^T v non-zero is returned as (active set, v).  For one input this is Filippov's
    rule at w_1 = 0: the solution crosses iff the field on the far side, a C2(far side), points onward.
    With no consistent ray (a cycle, or v = 0: e.g. both one-sided fields point into 0) the origin is an
    attracting stationary point and None is returned."""
    if a == 0.0 or not np.all(np.isfinite(v_in)) or not np.any(v_in):
        return None
    n = X.shape[0]
    tol = 1e-12 * np.linalg.norm(X, axis=1)
    S = (X @ v_in) > 0
    seen = set()
    for _ in range(max_iter):
        v = a * (X[S].T @ y[S]) / n
        if not np.any(v):
            return None
        m = X @ v
        if np.any(np.abs(m) <= tol * np.linalg.norm(v)):
            return None  # v lies on some sample's surface: not a ray inside one cell
        S_new = m > 0
        if np.array_equal(S_new, S):
            return S, v
        key = S_new.tobytes()
        if key in seen:
            return None
        seen.add(key)
        S = S_new
    return None


_EPS = np.finfo(float).eps
_ROOT_MAXITER = 1000


@dataclass
class _SegmentSolution:
    t: float
    y: np.ndarray
    t_events: list[list[float]]
    status: int  # 0: reached t_end, 1: a terminal event, -1: the integrator failed
    message: str


def _solve_segment(rhs, t0: float, t1: float, y0: np.ndarray, rtol: float, atol: float, events) -> _SegmentSolution:
    """``scipy.integrate.solve_ivp(method='DOP853', events=events)`` step for step (same stepper, same event
    detection and ordering, the same brentq tolerances), except that an event's root may take up to
    _ROOT_MAXITER brentq iterations instead of solve_ivp's fixed 100.  When w runs into the origin (a < 0),
    every sample's margin reaches 0 at the same instant with very different slopes, and brentq needed 103
    iterations to locate that instant (paper-scale lrr-fig2a-flow, quadrant (-,-)): solve_ivp raised."""
    solver = DOP853(lambda _t, y: rhs(y), float(t0), np.asarray(y0, dtype=float), float(t1), rtol=rtol, atol=atol)
    direction = np.array([getattr(e, "direction", 0) for e in events], dtype=float)
    max_events = np.array([1.0 if getattr(e, "terminal", False) else np.inf for e in events])
    count = np.zeros(len(events))
    t_events: list[list[float]] = [[] for _ in events]
    g = np.array([e(solver.t, solver.y) for e in events])
    while True:
        message = solver.step()
        if solver.status == "failed":
            return _SegmentSolution(solver.t, solver.y, t_events, -1, message)
        t_old, t, y = solver.t_old, solver.t, solver.y
        g_new = np.array([e(t, y) for e in events])
        up, down = (g <= 0) & (g_new >= 0), (g >= 0) & (g_new <= 0)
        active = np.nonzero(up & (direction > 0) | down & (direction < 0) | (up | down) & (direction == 0))[0]
        if active.size:
            sol = solver.dense_output()
            count[active] += 1
            roots = np.array([brentq(lambda s, e=events[i]: e(s, sol(s)), t_old, t, xtol=4 * _EPS, rtol=4 * _EPS,
                                     maxiter=_ROOT_MAXITER) for i in active])
            terminate = bool(np.any(count[active] >= max_events[active]))
            if terminate:  # keep the events up to the first terminal one
                order = np.argsort(roots) if t > t_old else np.argsort(-roots)
                active, roots = active[order], roots[order]
                first = int(np.nonzero(count[active] >= max_events[active])[0][0])
                active, roots = active[:first + 1], roots[:first + 1]
            for i, te in zip(active, roots):
                t_events[i].append(float(te))
            if terminate:
                t = float(roots[-1])
                return _SegmentSolution(t, sol(t), t_events, 1, message)
        g = g_new
        if solver.status == "finished":
            return _SegmentSolution(t, y, t_events, 0, message)


def integrate_flow(theta0: np.ndarray, X: np.ndarray, y: np.ndarray, mask: np.ndarray, tr: Flow,
                   snapshot_at: float | None = None) -> FlowResult:
    """Integrate eq. (7) from theta0 on [0, tr.t_end] for the inputs the mask keeps.

    ``snapshot_at`` is a time (weight rewinding's rewinding point for the flow)."""
    kept = np.flatnonzero(np.asarray(mask)[1:] > 0)
    Xk = np.ascontiguousarray(X[:, kept])
    theta = np.concatenate([[theta0[0]], theta0[1 + kept]]).astype(float)
    n = Xk.shape[0]
    z = Xk @ theta[1:]
    active = z > 0
    slide = np.zeros(n, dtype=bool)
    t, flips_a, flips_w1, switches, sliding, segments = 0.0, 0, 0, 0, 0, 0
    snapshot = None
    w1_col = 1 + int(np.flatnonzero(kept == 0)[0]) if 0 in kept else None
    stops = sorted({float(snapshot_at), tr.t_end} if snapshot_at is not None else {tr.t_end})
    truncated = at_origin = False
    crossings = 0
    w_scale = max(float(np.linalg.norm(theta[1:])), 1e-300)
    while True:
        if snapshot is None and snapshot_at is not None and abs(t - snapshot_at) <= 1e-12:
            snapshot = theta.copy()
        later = [s for s in stops if s > t + 1e-12]  # strictly ahead: a stop just reached is done
        target = later[0] if later else tr.t_end
        if t >= tr.t_end:
            break
        if segments >= tr.max_events:
            truncated = True
            break
        seg = _Segment(Xk, y, active, slide)
        free = ~slide
        s_free = np.where(active[free], 1.0, -1.0)
        X_free = Xk[free]

        def cross(_t, th):
            return float(np.min(s_free * (X_free @ th[1:]))) if X_free.shape[0] else 1.0
        cross.terminal, cross.direction = True, -1

        def leave(_t, th):
            if not slide.any():
                return 1.0
            lam = seg.lambdas(th)
            return float(np.min(np.minimum(lam, 1.0 - lam)))
        leave.terminal, leave.direction = True, -1

        def a_zero(_t, th):
            return th[0]

        def w1_zero(_t, th):
            return th[w1_col] if w1_col is not None else 1.0

        w1_start = theta[w1_col] if w1_col is not None else 0.0
        sol = _solve_segment(seg.rhs, t, target, theta, tr.rtol, tr.atol, [cross, leave, a_zero, w1_zero])
        segments += 1
        flips_a += len(sol.t_events[2])
        flips_w1 += len(sol.t_events[3]) if w1_col is not None else 0
        t, theta = float(sol.t), np.array(sol.y, dtype=float)
        if sol.status == -1:
            raise RuntimeError(f"gradient flow integration failed at t = {t}: {sol.message}")
        if np.linalg.norm(theta[1:]) <= 1e-12 * w_scale:
            # w has reached the origin: every sample switches at once.  Leave along the consistent ray if
            # there is one (origin_exit); otherwise the origin is stationary (with a < 0 and |a| >> ||w||
            # the switching cascade gets there in finite time) and the flow stays: integrating on would
            # only toggle samples at zero progress.
            # the sign w_1 had on arrival: its sign at the segment's start, flipped by each w1_zero event
            w1_before = np.sign(w1_start) * (-1) ** len(sol.t_events[3]) if w1_col is not None else 0.0
            exit_ray = origin_exit(Xk, y, float(theta[0]), seg.rhs(theta)[1:])
            theta[1:] = 0.0
            if exit_ray is None or t >= tr.t_end:
                if snapshot is None and snapshot_at is not None and snapshot_at >= t:
                    snapshot = theta.copy()
                at_origin = exit_ray is None
                break
            new_active, v = exit_ray
            h = 1e-10 * w_scale / float(np.linalg.norm(v))  # w = h v: the exact solution to O(h^2)
            theta[1:] = h * v
            t = min(t + h, tr.t_end)
            switches += int(np.count_nonzero(new_active != active)) + int(np.count_nonzero(slide))
            active, slide = new_active, np.zeros(n, dtype=bool)
            crossings += 1
            if w1_col is not None and w1_before != 0.0 and np.sign(theta[w1_col]) != w1_before:
                flips_w1 += 1  # w_1 changed sign through the origin (the w1_zero event ends at the origin)
            continue
        if sol.status != 1:
            continue  # reached the target time
        if len(sol.t_events[0]):  # a free sample reached the surface
            free_idx = np.flatnonzero(free)
            i = int(free_idx[np.argmin(s_free * (X_free @ theta[1:]))])
            new_active = active.copy()
            new_active[i] = not active[i]
            old = _field_along(Xk, y, active, slide, theta, i)
            new = _field_along(Xk, y, new_active, slide, theta, i)
            switches += 1
            goes_on = (new > 0) if new_active[i] else (new < 0)
            if goes_on or old * new >= 0:
                active = new_active  # a crossing: the sample moves on into the other side
                theta = _nudge(theta, Xk[i], 1.0 if active[i] else -1.0)
            else:  # both sides push towards the surface: slide along it
                slide[i] = True
                active[i] = False
                sliding += 1
        elif len(sol.t_events[1]):  # a sliding sample leaves the surface
            idx = np.flatnonzero(slide)
            lam = seg.lambdas(theta)
            j = int(np.argmin(np.minimum(lam, 1.0 - lam)))
            slide[idx[j]] = False
            active[idx[j]] = bool(lam[j] > 0.5)  # lambda -> 1: the active side; -> 0: the inactive side
            theta = _nudge(theta, Xk[idx[j]], 1.0 if active[idx[j]] else -1.0)
    th_full = np.zeros(len(theta0))
    th_full[0] = theta[0]
    th_full[1 + kept] = theta[1:]
    if snapshot is not None:
        snap_full = np.zeros(len(theta0))
        snap_full[0] = snapshot[0]
        snap_full[1 + kept] = snapshot[1:]
    else:
        snap_full = th_full.copy() if snapshot_at is not None else None
    r = th_full[0] * np.maximum(X @ th_full[1:], 0.0) - y
    return FlowResult(th_full, float(0.5 * np.mean(r * r)), flips_a, flips_w1, switches, sliding, segments,
                      truncated, snap_full, at_origin, crossings)


def train_flow(tr: Flow, theta0, X, y, mask, snapshot_at=None) -> TrainResult:
    """The trainer interface of :mod:`sim.lrr.trainers` for the flow: one scipy integration per trial."""
    import torch

    dev = theta0.device
    P = runs_per_draw(theta0.shape[0], X)  # run k reads X[k // P] (sim.lrr.neuron.batched_xw)
    res = [integrate_flow(theta0[k].cpu().numpy(), X[k // P].cpu().numpy(), y[k].cpu().numpy(),
                          mask[k].cpu().numpy(), tr, snapshot_at) for k in range(theta0.shape[0])]
    as_t = lambda v, dt=torch.float64: torch.as_tensor(np.array(v), dtype=dt, device=dev)  # noqa: E731
    if any(r.truncated for r in res):
        import warnings
        warnings.warn(f"{sum(r.truncated for r in res)} flow trial(s) hit max_events = {tr.max_events} before t_end")
    return TrainResult(
        theta=as_t([r.theta for r in res]), loss=as_t([r.loss for r in res]),
        sign_changes_a=as_t([r.flips_a for r in res], torch.long), sign_changes_w1=as_t([r.flips_w1 for r in res], torch.long),
        steps=as_t([r.segments for r in res], torch.long),
        snapshot=as_t([r.snapshot for r in res]) if snapshot_at is not None else None,
        switches=as_t([r.switches for r in res], torch.long), sliding=as_t([r.sliding for r in res], torch.long))
