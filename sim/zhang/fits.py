"""Fits across the cells of the paper-001 diagrams (Zhang et al.): what Sec. 5 reads off its figures.

* ``line_fit``: ordinary least squares y = a + b x with standard errors;
* ``crossing``: where a success-rate curve crosses 1/2 (linear interpolation between grid points);
* ``convergence_rate``: the per-step contraction nu = exp(slope of log error) of a linearly converging run;
* ``radius_fit`` (Fig. 2): the radius of the convex region per r and its line against sqrt(r);
  ``radius_bootstrap``: their intervals, resampling the draws;
* ``transition_fit`` (Fig. 4): N* per r and its line against r; ``nstar_grid_bootstrap``: their intervals;
* ``classify_fig2_runs`` / ``fig2_outcomes`` (Fig. 2): how each run ended (success, cut off by the cap while
  converging, stalled, stopped away from W*, diverged) and the counts per (r, lam);
* ``fit_fig2`` ... ``fit_tensor_init``: each diagram's fit step, ``(finished cells, summary rows) ->
  {"fits.json": data}``; the rows enter as ``summary.csv`` holds them (:func:`saved_rows`), so a fit reads
  the same values from a finished run as from its saved folder.
"""

from __future__ import annotations

import csv
import io

import numpy as np

SUCCESS = 1e-4  # Sec. 5.1: ||W - W*|| / ||W*|| < 1e-4
CONVERGING_RATIO = 0.95  # a run at the cap still converges when its error there is <= 0.95 x that at 90 % of it


def line_fit(x, y) -> dict:
    """y = a + b x by least squares; a, b with standard errors (nan when fewer than 3 finite points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = {"points": int(len(x)), "intercept": np.nan, "slope": np.nan, "intercept_se": np.nan, "slope_se": np.nan,
           "r2": np.nan}
    if len(x) < 2:
        return out
    A = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    out["intercept"], out["slope"] = float(coef[0]), float(coef[1])
    res = y - A @ coef
    if len(x) > 2:
        s2 = res @ res / (len(x) - 2)
        cov = s2 * np.linalg.inv(A.T @ A)
        out["intercept_se"], out["slope_se"] = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
        tss = ((y - y.mean()) ** 2).sum()
        out["r2"] = float(1 - (res @ res) / tss) if tss > 0 else np.nan
    return out


def crossing(x, rate, level: float = 0.5, decreasing: bool = True) -> float:
    """First x where ``rate`` crosses ``level`` (interpolated); nan if it never does.  ``decreasing``: the
    rate falls with x (Fig. 2: success against initial distance); otherwise it rises (Fig. 4: against N).  Off the grid on either side: nan."""
    x, rate = np.asarray(x, float), np.asarray(rate, float)
    order = np.argsort(x)
    x, rate = x[order], rate[order]
    s = rate if decreasing else -rate
    lv = level if decreasing else -level
    if s[0] < lv:
        return np.nan  # already past the level at the first grid point: the crossing is off the grid
    for i in range(1, len(x)):
        if s[i] < lv:
            return float(x[i - 1] + (s[i - 1] - lv) / (s[i - 1] - s[i]) * (x[i] - x[i - 1]))
    return np.nan


def convergence_rate(t: np.ndarray, err: np.ndarray, hi_frac: float = 0.3, floor: float = 1e-12) -> np.ndarray:
    """Per trial (rows of ``err``): nu = exp(slope of log err against t) over the steps where the error is
    below hi_frac * err(0) (past the transient) and above max(floor, 10 x its final value)."""
    out = np.full(err.shape[0], np.nan)
    for b in range(err.shape[0]):
        e = err[b]
        ok = (e < hi_frac * e[0]) & (e > max(floor, 10 * e[-1])) & np.isfinite(e)
        if ok.sum() >= 3:
            out[b] = float(np.exp(np.polyfit(t[ok], np.log(e[ok]), 1)[0]))
    return out


def _crossings_per_r(rows: list[dict], axis: str, decreasing: bool) -> tuple[list[int], list[float]]:
    """Per r, where the success rate along ``axis`` crosses 1/2."""
    rs = sorted({int(r["r"]) for r in rows})
    out = []
    for r in rs:
        sub = sorted((float(x[axis]), float(x["success_rate"])) for x in rows if int(x["r"]) == r)
        out.append(crossing([s[0] for s in sub], [s[1] for s in sub], decreasing=decreasing))
    return rs, out


def radius_fit(rows: list[dict]) -> dict:
    """Fig. 2: per r, the initial distance where the success rate crosses 1/2; line of it against sqrt(r)."""
    rs, radius = _crossings_per_r(rows, "lam", decreasing=True)
    return {"r": rs, "radius": radius, "fit_vs_sqrt_r": line_fit(np.sqrt(rs), radius)}


def transition_fit(rows: list[dict]) -> dict:
    """Fig. 4: per r, the N where the success rate first rises through 1/2; line of N* against r."""
    rs, nstar = _crossings_per_r(rows, "N", decreasing=False)
    return {"r": rs, "N_star": nstar, "fit_vs_r": line_fit(rs, nstar)}


# ------------------------------------------------------------------------------------------- rows as saved
def saved_rows(rows: list[dict]) -> list[dict]:
    """The summary rows as ``summary.csv`` holds them (every value its CSV text, as
    :func:`sim.core.sweep.read_summary` returns them)."""
    if not rows:
        return []
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return list(csv.DictReader(io.StringIO(buf.getvalue())))


def _f(rows, key) -> np.ndarray:
    return np.array([float(r[key]) for r in rows])


# ------------------------------------------------------------------------------------------- Fig. 2
FIG2_KINDS = ("success", "cap_converging", "cap_stalled", "cap_unsplit", "stopped_away", "diverged")


def classify_fig2_runs(arr) -> np.ndarray:
    """Outcome of each run of a zhang-fig2 cell (arrays ``rel_err``, ``stopped``, ``diverged``, optionally
    ``success`` and ``err_at_90pct``), one of FIG2_KINDS:

    * ``success``: relative error below 1e-4 (the saved ``success`` flag where there is one);
    * ``cap_converging``: ran to the cap (neither the stopping rule fired nor the weights blew up) with the
      error still falling (at the cap at most 0.95 of its value at 90 % of the cap): cut off by the budget,
      not outside the region;
    * ``cap_stalled``: ran to the cap with the error flat over the last tenth: stalled away from W*;
    * ``cap_unsplit``: ran to the cap, in a cell without ``err_at_90pct``: not split;
    * ``stopped_away``: the stopping rule fired away from W*; ``diverged``: the weights became non-finite.
    """
    err = np.asarray(arr["rel_err"], float)
    ok = np.asarray(arr["success"], bool) if "success" in arr else err < SUCCESS
    stopped, diverged = np.asarray(arr["stopped"], bool), np.asarray(arr["diverged"], bool)
    cap = ~stopped & ~diverged & ~ok  # a run ends by the rule, by divergence or at the cap
    kind = np.full(len(err), "success", dtype=object)
    if "err_at_90pct" in arr:
        with np.errstate(divide="ignore", invalid="ignore"):
            falling = err <= CONVERGING_RATIO * np.asarray(arr["err_at_90pct"], float)
        kind[cap & falling] = "cap_converging"
        kind[cap & ~falling] = "cap_stalled"
    else:
        kind[cap] = "cap_unsplit"
    kind[~ok & stopped & ~diverged] = "stopped_away"
    kind[diverged] = "diverged"
    return kind


def fig2_outcomes(finished) -> dict:
    """Per (r, lam) of the finished zhang-fig2 cells: the count of each outcome of FIG2_KINDS and the runs."""
    out = {}
    for cell, arr in finished:
        kind = classify_fig2_runs(arr)
        for lam in cell.lams:
            m = np.isclose(np.asarray(arr["lam"], float), lam)
            out[(int(cell.r), float(lam))] = {"runs": int(m.sum()),
                                              **{k: int((kind[m] == k).sum()) for k in FIG2_KINDS}}
    return out


def outcome_key(r, lam) -> str:
    """The name of the (r, lam) entry of ``fits.json``'s ``outcomes``."""
    return f"r={int(r)} lam={float(lam):g}"


def _draw_by_lam(cell, arr) -> tuple[np.ndarray, np.ndarray]:
    """A zhang-fig2 cell's success flags as (draws x distances), with the distances: run g P + p is draw g at
    distance p (:func:`sim.zhang.diagrams.run_fig2`)."""
    lams = np.asarray(cell.lams, float)
    lam = np.asarray(arr["lam"], float)
    T = len(lam) // len(lams)
    if len(lam) != T * len(lams) or not np.allclose(lam.reshape(T, len(lams)), lams):
        raise ValueError(f"cell {cell.key}: runs are not draws x distances in the order of cell.lams")
    return np.asarray(arr["success"], bool).reshape(T, len(lams)), lams


def _crossing_or_edge(lams, rate) -> float:
    """:func:`crossing` of a falling success rate, with a rate that never falls below 1/2 as +inf (radius beyond
    the grid) and one below 1/2 from the first distance as -inf (below the grid)."""
    c = crossing(lams, rate, decreasing=True)
    if np.isfinite(c):
        return c
    return -np.inf if rate[0] < 0.5 else np.inf


def radius_bootstrap(finished, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Uncertainty of the Fig. 2 radius: per r, a percentile bootstrap over the draws (a draw carries every
    distance, so draws are resampled whole and the pairing across distances is kept); +inf / -inf stand for a
    resample whose crossing lies beyond / below the grid.  The line against sqrt(r) is refitted on each
    resample over the r whose radius lies inside the grid, and its interval given over the resamples where all
    of those do (``slope_defined_fraction``)."""
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    per_r, boot = {}, {}
    for cell, arr in sorted(finished, key=lambda ca: int(ca[0].r)):
        S, lams = _draw_by_lam(cell, arr)
        order = np.argsort(lams)
        S, lams = S[:, order], lams[order]
        rates = S[rng.integers(0, len(S), (n_boot, len(S)))].mean(1)
        b = np.array([_crossing_or_edge(lams, rt) for rt in rates])
        boot[int(cell.r)] = b
        lo, hi = np.percentile(b, q, method="inverted_cdf")
        point = _crossing_or_edge(lams, S.mean(0))
        per_r[f"r={int(cell.r)}"] = {"radius": point, "ci": [float(lo), float(hi)], "grid_bracket": _bracket(lams, point),
                                     "beyond_grid": float(np.mean(b == np.inf)),
                                     "below_grid": float(np.mean(b == -np.inf)), "draws": int(len(S))}
    inside = [r for r in boot if np.isfinite(per_r[f"r={r}"]["radius"])]
    return {"n_boot": n_boot, "level": level, "resampled": "draws (each with all its distances)", "per_r": per_r,
            **_line_intervals(boot, inside, np.sqrt, q)}


def _line_intervals(boot: dict, inside: list, x_of_r, q) -> dict:
    """The line y = a + b x(r) over the r in ``inside`` refitted on every resample (``boot``: r -> values per
    resample) where all of them are finite: percentile intervals of a and b, and the fraction of resamples used."""
    out = {"fit_r": inside, "slope_ci": [np.nan, np.nan], "intercept_ci": [np.nan, np.nan],
           "slope_defined_fraction": 0.0}
    if len(inside) >= 2:
        R = np.stack([boot[r] for r in inside], 1)
        ok = np.isfinite(R).all(1)
        out["slope_defined_fraction"] = float(ok.mean())
        if ok.any():
            A = np.stack([np.ones(len(inside)), x_of_r(np.asarray(inside, float))], 1)
            coef = np.linalg.lstsq(A, R[ok].T, rcond=None)[0]
            out["intercept_ci"] = np.percentile(coef[0], q).tolist()
            out["slope_ci"] = np.percentile(coef[1], q).tolist()
    return out


def grid_columns(finished) -> dict[int, list[tuple[int, np.ndarray]]]:
    """The finished zhang-fig4 cells as columns of the (r, N) grid: r (ascending) -> [(N, success per run)],
    ascending in N."""
    by_r: dict[int, list] = {}
    for cell, arr in finished:
        by_r.setdefault(int(cell.r), []).append((int(cell.N), np.asarray(arr["success"], bool)))
    return {r: sorted(by_r[r], key=lambda c: c[0]) for r in sorted(by_r)}


def nstar_grid_bootstrap(finished, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Uncertainty of the Fig. 4 N* read off the (r, N) grid (:func:`transition_fit`): every (r, N) cell has its
    own draws, so each cell's runs are resampled on their own; per r a percentile interval of N* (+inf: the
    rate stays below 1/2 up to the largest N; -inf: at or above 1/2 from the smallest), and the line N* = a + b r
    refitted per resample over the r whose N* lies inside the grid.  ``grid_bracket``: the grid points around
    N*; the interval covers the sampling of runs, not the interpolation between them."""
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    per_r, boot = {}, {}
    for r, cols in grid_columns(finished).items():
        Ns = np.array([N for N, _ in cols], float)
        rates = np.stack([ok[rng.integers(0, len(ok), (n_boot, len(ok)))].mean(1) for _, ok in cols], 1)
        b = np.array([_rise_or_edge(Ns, rt) for rt in rates])
        boot[r] = b
        lo, hi = np.percentile(b, q, method="inverted_cdf")
        point = _rise_or_edge(Ns, np.array([ok.mean() for _, ok in cols]))
        per_r[f"r={r}"] = {"N_star": point, "ci": [float(lo), float(hi)], "grid_bracket": _bracket(Ns, point),
                           "beyond_grid": float(np.mean(b == np.inf)),
                           "below_grid": float(np.mean(b == -np.inf)), "runs_per_N": [int(len(ok)) for _, ok in cols]}
    inside = [r for r in boot if np.isfinite(per_r[f"r={r}"]["N_star"])]
    return {"n_boot": n_boot, "level": level, "resampled": "runs within each (r, N) cell", "per_r": per_r,
            **_line_intervals(boot, inside, lambda x: x, q)}


def _bracket(x, value) -> list[float]:
    """The grid points on either side of an interpolated crossing (the grid's resolution, which a bootstrap over
    runs does not see: between a cell where every run fails and one where every run succeeds, every resample
    crosses at the same interpolated point); [nan, nan] for a crossing off the grid."""
    x = np.sort(np.asarray(x, float))
    if not np.isfinite(value):
        return [np.nan, np.nan]
    i = int(np.searchsorted(x, value, side="left"))
    return [float(x[max(i - 1, 0)]) if x[min(i, len(x) - 1)] != value else float(value), float(x[min(i, len(x) - 1)])]


def _rise_or_edge(Ns, rate) -> float:
    """:func:`crossing` of a rising success rate, with a rate below 1/2 on the whole grid as +inf and one at or
    above 1/2 from the smallest N as -inf."""
    c = crossing(Ns, rate, decreasing=False)
    if np.isfinite(c):
        return c
    return -np.inf if rate[0] >= 0.5 else np.inf


def fit_fig2(finished, rows) -> dict:
    """fits.json of zhang-fig2: :func:`radius_fit`, its bootstrap over draws (:func:`radius_bootstrap`) and the
    outcome counts per (r, lam) (:func:`fig2_outcomes`)."""
    data = radius_fit(saved_rows(rows))
    data["radius_bootstrap"] = radius_bootstrap(finished)
    data["outcomes"] = {outcome_key(r, lam): v for (r, lam), v in sorted(fig2_outcomes(finished).items())}
    return {"fits.json": data}


# ------------------------------------------------------------------------------------------- Figs. 3-6
def fit_fig3(finished, rows) -> dict:
    """fits.json of zhang-fig3: per method (AGD, GD) the rate nu per r and its line against sqrt(r)."""
    rows = saved_rows(rows)
    data = {}
    for name in ("AGD", "GD"):
        sub = [r for r in rows if r["method"] == name]
        r_, nu = _f(sub, "r"), _f(sub, "rate")
        data[name] = {"r": r_.tolist(), "rate": nu.tolist(), "fit_vs_sqrt_r": line_fit(np.sqrt(r_), nu)}
    return {"fits.json": data}


def fit_fig5(finished, rows) -> dict:
    """fits.json of zhang-fig5: per noise level, the median error and the error over the level against sqrt(r)."""
    rows = saved_rows(rows)
    data = {}
    for lev in sorted({float(r["noise"]) for r in rows}):
        sub = [r for r in rows if float(r["noise"]) == lev]
        sr, e = np.sqrt(_f(sub, "r")), _f(sub, "rel_err")
        data[f"noise={lev:g}"] = {"fit_vs_sqrt_r": line_fit(sr, e), "fit_over_noise_vs_sqrt_r": line_fit(sr, e / lev)}
    return {"fits.json": data}


def fit_fig6(finished, rows) -> dict:
    """fits.json of zhang-fig6: per N the IMP round of smallest median test error (its summary row)."""
    rows = saved_rows(rows)
    Ns = sorted({int(r["N"]) for r in rows})
    return {"fits.json": {"N": Ns, "best_round": {
        str(N): min((r for r in rows if int(r["N"]) == N), key=lambda r: float(r["test_err_median"])) for N in Ns}}}


# ------------------------------------------------------------------------------------------- Theorem 1, Lemma 1
def fit_hessian(finished, rows) -> dict:
    """fits.json of zhang-hessian: per layout, K^2 lambda_min at W* and at distance lam against sqrt(K r / N)
    and the median K lambda_max at W*; the population K^2 lambda_min of disjoint supports, 1/2 - 1/(2 pi)."""
    from theory.zhang.relu_moments import lambda_min_scaled

    rows = saved_rows(rows)
    data = {}
    for lay in ("random", "disjoint"):
        sub = [r for r in rows if r["layout"] == lay and r["point"] == "W*"]
        if not sub:
            continue
        data[lay] = {"K2_lambda_min_vs_sqrt_Kr_over_N": line_fit(_f(sub, "sqrt_Kr_over_N"), _f(sub, "K2_lambda_min")),
                     "K_lambda_max_median": float(np.median(_f(sub, "K_lambda_max")))}
        near = [r for r in rows if r["layout"] == lay and r["point"] != "W*"]
        data[lay]["near_K2_lambda_min_vs_sqrt_Kr_over_N"] = line_fit(_f(near, "sqrt_Kr_over_N"),
                                                                     _f(near, "K2_lambda_min"))
    data["population_K2_lambda_min_disjoint"] = lambda_min_scaled()
    return {"fits.json": data}


def fit_tensor_init(finished, rows) -> dict:
    """fits.json of zhang-tensor-init: per network, the log-log slope of the median W(0) error against N and
    the AGD success rate from W(0) per N."""
    rows = saved_rows(rows)
    data = {}
    for lay, K, d, r in sorted({(x["layout"], int(x["K"]), int(x["d"]), int(x["r"])) for x in rows}):
        sub = [x for x in rows if (x["layout"], int(x["K"]), int(x["d"]), int(x["r"])) == (lay, K, d, r)]
        N, e = _f(sub, "N"), _f(sub, "init_err")
        data[f"{lay} K={K} d={d} r={r}"] = {"loglog_slope": line_fit(np.log10(N), np.log10(e)),
                                            "agd_success_rate": _f(sub, "agd_success_rate").tolist(),
                                            "N": N.tolist()}
    return {"fits.json": data}
