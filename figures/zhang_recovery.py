"""Paper 001 (Zhang et al.): sparse teacher-student recovery, drawn from saved results.

``plot(results, kind)`` reads ``manifest.json``, ``cells/*.npz``, ``summary.csv`` and the JSON the diagram's
fit step saved (``fits.json``, ``nstar_fits.json``: every fitted number and every classification is computed in
``sim.zhang``, none here) and writes the figure:

* ``fig2``: success-rate heat map over r x initial distance (white: all succeed, black: all fail, as the
  paper's Fig. 2); the failures split into runs the cap cut off while still converging and runs away from W*
  (stalled at the cap, stopped, diverged: ``fits.json``'s ``outcomes``); the radius per r with its bootstrap
  interval over draws and its line against sqrt(r), with why an r has none;
* ``fig3``: (a) median relative error against iterations per r (AGD solid, GD dashed); (b) convergence rate
  nu against sqrt(r) with 95 % intervals;
* ``fig4``: success-rate heat map over N x r (log axes) with N* per r, its bootstrap interval and its line
  (``fits.json``);
* ``fig4-nstar``: N* against r per AGD budget, from ``nstar_fits.json``;
* ``fig5``: relative error against sqrt(r), one line per noise level;
* ``fig6``: test error against remaining parameters (%), one line per N, the teacher's r*/d marked;
* ``hessian``: K^2 lambda_min and K lambda_max against sqrt(K r / N), the disjoint-support population value;
* ``tensor``: relative error of the tensor initialization against N per configuration.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import load_results, read_summary  # noqa: E402


def _f(rows, key):
    return np.array([float(r[key]) for r in rows])


# readable at the saved size (dpi 130): tick labels, axis labels, titles, legends
_RC = {"xtick.labelsize": 9, "ytick.labelsize": 9, "axes.labelsize": 10, "axes.titlesize": 10,
       "legend.fontsize": 8, "figure.titlesize": 11}

# how a Fig. 2 run ended (the counts per (r, lam) are fits.json's "outcomes")
FIG2_KINDS = ("success", "cap_converging", "cap_stalled", "cap_unsplit", "stopped_away", "diverged")


def fig2_outcomes(fits: dict, rows) -> dict:
    """(r, lam) -> outcome counts, read from fits.json's ``outcomes`` (named ``r=R lam=LAM``)."""
    return {(int(r["r"]), float(r["lam"])): fits["outcomes"][f"r={int(r['r'])} lam={float(r['lam']):g}"]
            for r in rows}


def radius_notes(fits: dict, rows, outcomes: dict) -> list[str]:
    """Why the radius panel of Fig. 2 has the points it has: per r without a radius, whether the success rate
    stays >= 1/2 over the whole grid (radius beyond the largest distance) or is < 1/2 from the smallest one;
    per r with failures, how many of them the cap cut off while still converging; and the fit's point count."""
    lams = sorted({float(r["lam"]) for r in rows})
    beyond, below, lines = [], [], []
    for r, rad in zip(fits["r"], fits["radius"]):
        sub = sorted((float(x["lam"]), float(x["success_rate"])) for x in rows if int(x["r"]) == int(r))
        if not np.isfinite(rad):
            (beyond if sub[0][1] >= 0.5 else below).append(int(r))
    if beyond:
        lines.append(f"r = {_join(beyond)}: success >= 1/2 up to lam = {lams[-1]:g}, radius beyond the grid (^)")
    if below:
        lines.append(f"r = {_join(below)}: success < 1/2 from lam = {lams[0]:g}, radius below the grid (v)")
    for r in fits["r"]:
        c = {k: sum(v[k] for (rr, _), v in outcomes.items() if rr == int(r)) for k in FIG2_KINDS}
        fails = sum(c[k] for k in FIG2_KINDS if k != "success")
        if fails:
            away = c["cap_stalled"] + c["stopped_away"] + c["diverged"]
            parts = [f"{c['cap_converging']} cut off by the cap still converging"] if not c["cap_unsplit"] else \
                [f"{c['cap_unsplit']} hit the cap (not split)"]
            parts.append(f"{away} away from W*" if not c["cap_unsplit"] else f"{away} stopped or diverged away from W*")
            lines.append(f"r = {int(r)}: {fails} failures, " + ", ".join(parts))
    n = fits["fit_vs_sqrt_r"]["points"]
    if n < 2:
        lines.append(f"{n} finite radius: no line against sqrt(r)")
    return lines


def _join(xs) -> str:
    return ", ".join(str(x) for x in xs)


def _heat(ax, rows, xkey, ykey, title, value=None, cmap="gray"):
    """Cells of a grid over (xkey, ykey) coloured by ``value(row)`` (default: the success rate) in [0, 1]."""
    xs = sorted({float(r[xkey]) for r in rows})
    ys = sorted({float(r[ykey]) for r in rows})
    Z = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        Z[ys.index(float(r[ykey])), xs.index(float(r[xkey]))] = float(r["success_rate"]) if value is None else value(r)
    im = ax.imshow(Z, origin="lower", cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs])
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys])
    ax.set_title(title)
    return im, xs, ys


def _fits(results: Path) -> dict:
    return json.loads((results / "fits.json").read_text())


def _write(results: Path, fig, name: str) -> list[Path]:
    path = results / name
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return [path]


def _fig2(results, manifest, cells, rows):
    fits = _fits(results)
    out = fig2_outcomes(fits, rows)
    split = not any(v["cap_unsplit"] for v in out.values())
    cap = int(manifest["params"]["max_iter"])
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.4), constrained_layout=True)
    (a, b), (c, d) = axes
    lab = dict(xlabel="r (inputs per neuron)", ylabel="lam = ||W(0) - W*|| / ||W*||")
    im, xs, ys = _heat(a, rows, "r", "lam", "(a) success rate (white: all runs reach error < 1e-4)")
    a.set(**lab)
    fig.colorbar(im, ax=a, label="success rate")

    def frac(*kinds):
        return lambda row: sum(out[(int(row["r"]), float(row["lam"]))][k] for k in kinds) \
            / out[(int(row["r"]), float(row["lam"]))]["runs"]

    def counts(ax, *kinds):
        for (r, lam), v in out.items():
            n = sum(v[k] for k in kinds)
            if n:
                ax.text(xs.index(float(r)), ys.index(lam), f"{n}/{v['runs']}", ha="center", va="center", fontsize=8,
                        color="white" if n / v["runs"] > 0.5 else "black")

    cap_kinds = ("cap_converging",) if split else ("cap_unsplit",)
    cap_title = (f"(b) failures cut off by the cap ({cap} steps), still converging" if split else
                 f"(b) failures that hit the cap ({cap} steps), converging or not (not saved)")
    im, _, _ = _heat(b, rows, "r", "lam", cap_title, value=frac(*cap_kinds), cmap="Blues")
    counts(b, *cap_kinds)
    b.set(**lab)
    fig.colorbar(im, ax=b, label="fraction of the runs in the cell (text: count / runs)")
    away = ("cap_stalled", "stopped_away", "diverged") if split else ("stopped_away", "diverged")
    im, _, _ = _heat(c, rows, "r", "lam", "(c) failures away from W*: stalled at the cap, stopped or diverged"
                     if split else "(c) failures away from W*: stopped or diverged", value=frac(*away), cmap="Reds")
    counts(c, *away)
    c.set(**lab)
    fig.colorbar(im, ax=c, label="fraction of the runs in the cell (text: count / runs)")

    sr_all = np.sqrt(np.array(fits["r"], float))
    rad = np.array(fits["radius"], float)
    lams = sorted({float(r["lam"]) for r in rows})
    ok = np.isfinite(rad)
    boot = fits.get("radius_bootstrap", {}).get("per_r", {})
    if boot and ok.any():  # 95 % bootstrap over draws; an end beyond / below the grid drawn at the grid's edge
        ci = np.array([boot[f"r={int(r)}"]["ci"] for r in np.array(fits["r"])[ok]], float)
        ci = np.clip(ci, 0, 1.1 * lams[-1])
        d.errorbar(sr_all[ok], rad[ok], yerr=[rad[ok] - ci[:, 0], ci[:, 1] - rad[ok]], fmt="o", ms=8, capsize=4,
                   label="radius: lam where success crosses 1/2 (95 % bootstrap over draws)")
    else:
        d.plot(sr_all[ok], rad[ok], "o", ms=8, label="radius: lam where success crosses 1/2")
    for r, s_ in zip(fits["r"], sr_all):
        if np.isfinite(rad[fits["r"].index(r)]):
            continue
        sub = sorted((float(x["lam"]), float(x["success_rate"])) for x in rows if int(x["r"]) == int(r))
        up = sub[0][1] >= 0.5
        d.plot(s_, lams[-1] if up else lams[0], "^" if up else "v", color="gray", ms=8,
               label=("no crossing: beyond the grid" if up else "no crossing: below the grid"))
    f = fits["fit_vs_sqrt_r"]
    if np.isfinite(f["slope"]):
        d.plot(sr_all, f["intercept"] + f["slope"] * sr_all, "k--",
               label=f"fit {f['intercept']:.2f} {f['slope']:+.3f} sqrt(r) (se {f['slope_se']:.3f}"
                     + (", bootstrap [{:.3f}, {:.3f}])".format(*fits["radius_bootstrap"]["slope_ci"])
                        if np.isfinite(fits.get("radius_bootstrap", {}).get("slope_ci", [np.nan])[0]) else ")"))
    h, l_ = d.get_legend_handles_labels()
    keep = {lab_: hh for hh, lab_ in zip(h, l_)}
    d.legend(keep.values(), keep.keys(), loc="center left")
    d.set_ylim(0, 1.12 * lams[-1])
    d.set_xlim(sr_all[0] - 0.6, sr_all[-1] + 0.6)
    d.set_xticks(sr_all, [f"{x:.2f}\nr={r}" for x, r in zip(sr_all, fits["r"])])
    # why the panel has the points it has: under the axis (constrained layout makes room), never over the data
    d.set_xlabel("sqrt(r)\n\n" + "\n".join(radius_notes(fits, rows, out)), multialignment="left", fontsize=9)
    d.set(ylabel="radius, in lam = ||W(0) - W*|| / ||W*||", title="(d) radius of the success region against sqrt(r)")
    return _write(results, fig, "fig2_convex_region.png")


def _fig3(results, manifest, cells, rows):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    for k, (cell, arr) in enumerate(cells):
        c = cmap(k / max(len(cells) - 1, 1))
        for name, ls in (("agd", "-"), ("gd", "--")):
            h = np.median(arr[f"{name}_history"], 0)
            axes[0].semilogy(arr["t"], h, ls, color=c, label=f"r = {cell['r']}" if name == "agd" else None)
    axes[0].plot([], [], "k-", label="AGD")
    axes[0].plot([], [], "k--", label="GD")
    axes[0].set(xlabel="iteration t", ylabel="||W(t) - W*|| / ||W*|| (median over runs)",
                title="(a) relative error against iterations (AGD solid, GD dashed)")
    axes[0].legend(ncol=2)
    for name in ("AGD", "GD"):
        sub = [r for r in rows if r["method"] == name]
        r_ = _f(sub, "r")
        nu, lo, hi = _f(sub, "rate"), _f(sub, "rate_ci_low"), _f(sub, "rate_ci_high")
        axes[1].errorbar(np.sqrt(r_), nu, yerr=[nu - lo, hi - nu], fmt="o-", capsize=3, label=name)
    axes[1].set(xlabel="sqrt(r)", ylabel="convergence rate nu (error factor per iteration)",
                title="(b) rate nu against sqrt(r): median over runs, 95 % interval")
    axes[1].legend()
    return _write(results, fig, "fig3_convergence_rate.png")


def _edges(v):
    """Cell edges around grid values v (sorted, > 0): geometric midpoints, half a step beyond the ends."""
    lv = np.log(np.asarray(v, float))
    mid = (lv[1:] + lv[:-1]) / 2
    first = lv[0] - (mid[0] - lv[0]) if len(lv) > 1 else lv[0] - 0.5
    last = lv[-1] + (lv[-1] - mid[-1]) if len(lv) > 1 else lv[-1] + 0.5
    return np.exp(np.concatenate([[first], mid, [last]]))


def _fig4(results, manifest, cells, rows):
    fits = _fits(results)
    fig, ax = plt.subplots(figsize=(7, 4.8), constrained_layout=True)
    xs = sorted({float(r["r"]) for r in rows})
    ys = sorted({float(r["N"]) for r in rows})
    Z = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        Z[ys.index(float(r["N"])), xs.index(float(r["r"]))] = float(r["success_rate"])
    im = ax.pcolormesh(_edges(xs), _edges(ys), Z, cmap="gray", vmin=0, vmax=1)
    ax.set(xscale="log", yscale="log")
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.set_yticks(ys, [f"{y:g}" for y in ys])
    ax.minorticks_off()
    fig.colorbar(im, ax=ax, label="success rate (error < 1e-4)")
    r_, n_ = np.array(fits["r"], float), np.array(fits["N_star"], float)
    ok = np.isfinite(n_)
    boot = fits.get("nstar_bootstrap", {}).get("per_r", {})
    if boot and ok.any():  # 95 % bootstrap over the runs of each cell; an open end drawn at the grid's edge
        ci = np.clip(np.array([boot[f"r={int(r)}"]["ci"] for r in r_[ok]], float), ys[0], ys[-1])
        ax.errorbar(r_[ok], n_[ok], yerr=[n_[ok] - ci[:, 0], ci[:, 1] - n_[ok]], fmt="o", color="tab:orange",
                    mec="k", ms=7, capsize=3, label="N*: success crosses 1/2 (95 % bootstrap)")
    else:
        ax.plot(r_[ok], n_[ok], "o", color="tab:orange", mec="k", ms=7, label="N*: success crosses 1/2")
    logi = fits.get("nstar_logistic", {}).get("per_r", {})
    lr = [(float(k[2:]), v) for k, v in logi.items() if np.isfinite(v.get("N_star", np.nan))]
    if lr:  # the second estimator on the same counts: logistic in log N, profile-likelihood interval
        rl = np.array([r for r, _ in lr]) * 1.04  # nudged right of the grid estimate
        nl = np.array([v["N_star"] for _, v in lr])
        cl = np.clip(np.array([v["ci"] for _, v in lr], float), ys[0], ys[-1])
        cl = np.where(np.isnan(cl), np.array([ys[0], ys[-1]]), cl)
        line = fits["nstar_logistic"].get("line") or {}
        wf = line.get("weighted_fit") or {}
        note = (f"; line {wf['slope']:.2f}({wf['slope_se_scaled']:.2f}) r = {wf['slope_over_K']:.2f} K r"
                if wf else "")
        ax.errorbar(rl, nl, yerr=[nl - cl[:, 0], cl[:, 1] - nl], fmt="s", color="tab:cyan", mec="k", ms=5,
                    capsize=3, label=f"N*: logistic in log N (95 % profile likelihood{note})")
    f = fits["fit_vs_r"]
    if np.isfinite(f["slope"]):
        rr = np.geomspace(_edges(xs)[0], _edges(xs)[-1], 100)
        nn = f["intercept"] + f["slope"] * rr
        inside = (nn > _edges(ys)[0]) & (nn < _edges(ys)[-1])
        ax.plot(rr[inside], nn[inside], "--", color="tab:orange", lw=2,
                label=f"line fit N* = {f['intercept']:.0f} {f['slope']:+.2f} r ({f['points']} points"
                      + (", slope 95 % [{:.2f}, {:.2f}])".format(*fits["nstar_bootstrap"]["slope_ci"])
                         if np.isfinite(fits.get("nstar_bootstrap", {}).get("slope_ci", [np.nan])[0]) else ")"))
    ax.legend(loc="upper left")
    ax.set(xlabel="r (inputs per neuron)", ylabel="N (training samples)",
           title="success rate over N x r, N* per r and its line fit")
    return _write(results, fig, "fig4_phase_transition.png")


def _fig5(results, manifest, cells, rows):
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    for lev in sorted({float(r["noise"]) for r in rows}):
        sub = [r for r in rows if float(r["noise"]) == lev]
        sr = np.sqrt(_f(sub, "r"))
        e, lo, hi = _f(sub, "rel_err"), _f(sub, "ci_low"), _f(sub, "ci_high")
        ax.errorbar(sr, e, yerr=[e - lo, hi - e], fmt="o-", capsize=3, label=f"noise sigma / E_y = {lev:g}")
    ax.set(xlabel="sqrt(r)", ylabel="||W - W*|| / ||W*|| (median over runs)",
           title="relative error from noisy data against sqrt(r): median, 95 % interval")
    ax.legend()
    return _write(results, fig, "fig5_noisy_error.png")


def _fig6(results, manifest, cells, rows):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    p = manifest["params"]
    for N in sorted({int(r["N"]) for r in rows}):
        sub = [r for r in rows if int(r["N"]) == N]
        rem = _f(sub, "remaining_pct")
        axes[0].plot(rem, _f(sub, "test_err_median"), "o-", label=f"N = {N}")
        axes[0].fill_between(rem, _f(sub, "test_err_q25"), _f(sub, "test_err_q75"), alpha=0.2)
        axes[1].plot(rem, _f(sub, "support_recall"), "o-", label=f"N = {N}")
    for ax in axes:
        ax.axvline(100 * p["r_star"] / p["d"], color="k", ls=":", lw=1, label=f"teacher's r*/d = {p['r_star']}/{p['d']}")
        ax.set_xlim(105, 0)
        ax.set_xlabel("remaining parameters after IMP round (%)")
    axes[0].set(yscale="log", ylabel="test error / E[y^2] (median, band: quartiles)",
                title="(a) IMP on synthetic data: test error")
    axes[1].set(ylabel="support recall: teacher's weights kept (mean)", title="(b) support recall of the mask")
    axes[0].legend()
    axes[1].legend()
    return _write(results, fig, "fig6_imp_synthetic.png")


def _hessian(results, manifest, cells, rows):
    population = _fits(results)["population_K2_lambda_min_disjoint"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    rs = sorted({int(r["r"]) for r in rows})
    colors = {r: plt.get_cmap("viridis")(k / max(len(rs) - 1, 1) * 0.85) for k, r in enumerate(rs)}
    for lay, mk, fill in (("random", "o", True), ("disjoint", "s", False)):
        sub = [r for r in rows if r["layout"] == lay and r["point"] == "W*"]
        if not sub:
            continue
        for r in rs:  # one line per r across N: points of different (r, N) sharing sqrt(K r / N) stay apart
            s_ = sorted((x for x in sub if int(x["r"]) == r), key=lambda x: float(x["sqrt_Kr_over_N"]))
            if not s_:
                continue
            x = _f(s_, "sqrt_Kr_over_N")
            y, lo, hi = _f(s_, "K2_lambda_min"), _f(s_, "ci_low"), _f(s_, "ci_high")
            style = dict(color=colors[r], marker=mk, ms=7, mfc=colors[r] if fill else "white", mew=1.5,
                         ls="-" if fill else "--", lw=1)
            axes[0].errorbar(x, y, yerr=[y - lo, hi - y], capsize=2, **style)
            axes[1].plot(x, _f(s_, "K_lambda_max"), **style)
    axes[0].axhline(population, color="k", ls=":", lw=1.5)
    # legend: colour = r (N varies along each line), marker = layout, and the population value
    from matplotlib.lines import Line2D
    Ns = sorted({int(r["N"]) for r in rows})
    handles = [Line2D([], [], color=colors[r], lw=2, label=f"r = {r}") for r in rs]
    handles += [Line2D([], [], color="0.3", marker="o", ls="-", label="random supports (filled, solid)"),
                Line2D([], [], color="0.3", marker="s", mfc="white", ls="--", label="disjoint supports (open, dashed)")]
    fig.legend(handles=handles + [Line2D([], [], color="k", ls=":", label="(a) population value, disjoint supports: "
                                                                          "1/2 - 1/(2 pi)")],
               loc="outside lower center", ncol=3)
    xl = f"sqrt(K r / N)   (K = {manifest['params']['K']}, N in {{{_join(Ns)}}})"
    axes[0].set(xlabel=xl, ylabel="K^2 lambda_min(Hessian at W*) (median, 95 % interval)",
                title="(a) smallest Hessian eigenvalue at W*, times K^2")
    axes[1].set(xlabel=xl, ylabel="K lambda_max(Hessian at W*) (median)",
                title="(b) largest Hessian eigenvalue at W*, times K")
    return _write(results, fig, "hessian_eigenvalues.png")


def _tensor(results, manifest, cells, rows):
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    groups = sorted({(r["layout"], int(r["K"]), int(r["d"]), int(r["r"])) for r in rows})
    for lay, K, d, r in groups:
        sub = [x for x in rows if (x["layout"], int(x["K"]), int(x["d"]), int(x["r"])) == (lay, K, d, r)]
        N = _f(sub, "N")
        e, lo, hi = _f(sub, "init_err"), _f(sub, "ci_low"), _f(sub, "ci_high")
        label = f"{lay} K={K} d={d} r={r}"
        ax.errorbar(N, e, yerr=[e - lo, hi - e], fmt="o-", capsize=3, label=label)
    ax.set(xscale="log", yscale="log", xlabel="N (samples for the moments)",
           ylabel="||W(0) - W*|| / ||W*||, best relabelling\n(median over runs, 95 % interval)",
           title="tensor initialization: relative error of W(0) against N")
    ax.legend()
    return _write(results, fig, "tensor_init_error.png")


def _fig4_nstar(results, manifest, cells, rows):
    """N* against r per AGD budget, with the intervals and weighted lines of nstar_fits.json (sim.zhang.nstar)."""
    fits = json.loads((results / "nstar_fits.json").read_text())
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    K = fits["K"]
    handles = []
    for name, b in fits["budgets"].items():
        f = b["logistic"]
        r, n, ci = np.array(f["r"]), np.array(f["N_star"]), np.array(f["N_star_ci"])
        desc = (f"AGD eta {b['eta']:g}, beta {b['beta']:g}, cap {b['max_iter']}"
                if all(k in b for k in ("eta", "beta", "max_iter")) else name)
        line = ax.errorbar(r, n, yerr=[n - ci[:, 0], ci[:, 1] - n], fmt="o", capsize=3, label=f"{desc}: N*, 95 % CI")
        handles.append(line)
        w = f.get("weighted_fit")
        if w:
            handles += ax.plot(r, w["intercept"] + w["slope"] * r, "--", color=line[0].get_color(),
                               label=f"  weighted line {w['intercept']:.0f} {w['slope']:+.2f} r "
                                     f"({w['slope_over_K']:.2f} K r)")
    rr = np.array(sorted({float(x) for b in fits["budgets"].values() for x in b["logistic"]["r"]}))
    handles += ax.plot(rr, K * rr, "k:", label="N = K r (unknown weights)")
    ax.set(xlabel="r (inputs per neuron)", ylabel="N* (training samples where success crosses 1/2)",
           title=f"N* by bisection + logistic in log N, K = {K}, d = {fits['d']}, {fits['trials']} draws")
    ax.legend(handles=handles)
    path = results / "fig4_nstar.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return [path]


_KINDS = {"fig2": _fig2, "fig3": _fig3, "fig4": _fig4, "fig5": _fig5, "fig6": _fig6, "hessian": _hessian,
          "tensor": _tensor, "fig4-nstar": _fig4_nstar}


def plot(results: Path, kind: str) -> list[Path]:
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(_KINDS)}")
    results = Path(results)
    manifest, cells = load_results(results)
    rows = read_summary(results / "summary.csv")
    with plt.rc_context(_RC):
        return _KINDS[kind](results, manifest, cells, rows)
