"""Paper 001 (Zhang et al.): sparse teacher-student recovery.  Figures and cross-cell fits from saved results.

``plot(results, kind)`` reads ``manifest.json``, ``cells/*.npz`` and ``summary.csv`` of a results folder,
writes the figure(s) and ``fits.json`` (the numbers paper_repro.md quotes):

* ``fig2``: success-rate heat map over r x initial distance (white: all succeed, black: all fail, as the
  paper's Fig. 2), with the fitted radius per r; ``fits.json``: radius against sqrt(r);
* ``fig3``: (a) median relative error against iterations per r (AGD solid, GD dashed); (b) convergence rate
  nu against sqrt(r) with 95 % intervals; ``fits.json``: nu against sqrt(r) for AGD and GD;
* ``fig4``: success-rate heat map over N x r with N* per r; ``fits.json``: N* against r;
* ``fig4-nstar``: N* against r per AGD budget, from ``nstar_fits.json`` (computed by ``sim.zhang_nstar``);
* ``fig5``: relative error against sqrt(r), one line per noise level; ``fits.json``: error against sqrt(r);
* ``fig6``: test error against remaining parameters (%), one line per N, the teacher's r*/d marked;
* ``hessian``: K^2 lambda_min and K lambda_max against sqrt(K r / N), the disjoint-support population value;
  ``fits.json``: K^2 lambda_min against sqrt(K r / N) per layout;
* ``tensor``: relative error of the tensor initialization against N per configuration; ``fits.json``:
  log-log slope.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.sweep import load_results, read_summary  # noqa: E402
from sim.zhang_fits import line_fit, radius_fit, transition_fit  # noqa: E402


def _f(rows, key):
    return np.array([float(r[key]) for r in rows])


def _heat(ax, rows, xkey, ykey, title):
    xs = sorted({float(r[xkey]) for r in rows})
    ys = sorted({float(r[ykey]) for r in rows})
    Z = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        Z[ys.index(float(r[ykey])), xs.index(float(r[xkey]))] = float(r["success_rate"])
    im = ax.imshow(Z, origin="lower", cmap="gray", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=7)
    ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=7)
    ax.set_title(title, fontsize=9)
    return im, xs, ys


def _write(results: Path, fig, name: str, fits: dict) -> list[Path]:
    path = results / name
    fig.savefig(path, dpi=130)
    plt.close(fig)
    (results / "fits.json").write_text(json.dumps(fits, indent=2, default=float))
    return [path]


def _fig2(results, manifest, cells, rows):
    fits = radius_fit(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    im, xs, ys = _heat(axes[0], rows, "r", "lam", "success rate (white: all succeed)")
    axes[0].set(xlabel="r (inputs per neuron)", ylabel="relative initial distance ||W(0)-W*||/||W*||")
    fig.colorbar(im, ax=axes[0])
    sr = np.sqrt(fits["r"])
    axes[1].plot(sr, fits["radius"], "o-", label="radius (success crosses 1/2)")
    f = fits["fit_vs_sqrt_r"]
    if np.isfinite(f["slope"]):
        axes[1].plot(sr, f["intercept"] + f["slope"] * sr, "k--",
                     label=f"fit {f['intercept']:.2f} {f['slope']:+.3f} sqrt(r) (se {f['slope_se']:.3f})")
    axes[1].set(xlabel="sqrt(r)", ylabel="radius of the convex region", title="paper: radius linear in -sqrt(r)")
    axes[1].legend(fontsize=8)
    return _write(results, fig, "fig2_convex_region.png", fits)


def _fig3(results, manifest, cells, rows):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    for k, (cell, arr) in enumerate(cells):
        c = cmap(k / max(len(cells) - 1, 1))
        for name, ls in (("agd", "-"), ("gd", "--")):
            h = np.median(arr[f"{name}_history"], 0)
            axes[0].semilogy(arr["t"], h, ls, color=c, label=f"r = {cell['r']}" if name == "agd" else None)
    axes[0].set(xlabel="iteration", ylabel="||W(t) - W*|| / ||W*||", title="(a) AGD solid, GD dashed")
    axes[0].legend(fontsize=7)
    fits = {}
    for name in ("AGD", "GD"):
        sub = [r for r in rows if r["method"] == name]
        r_ = _f(sub, "r")
        nu, lo, hi = _f(sub, "rate"), _f(sub, "rate_ci_low"), _f(sub, "rate_ci_high")
        axes[1].errorbar(np.sqrt(r_), nu, yerr=[nu - lo, hi - nu], fmt="o-", capsize=3, label=name)
        fits[name] = {"r": r_.tolist(), "rate": nu.tolist(), "fit_vs_sqrt_r": line_fit(np.sqrt(r_), nu)}
    axes[1].set(xlabel="sqrt(r)", ylabel="convergence rate nu (per iteration)",
                title="(b) paper: rate almost linear in sqrt(r); AGD below GD")
    axes[1].legend(fontsize=8)
    return _write(results, fig, "fig3_convergence_rate.png", fits)


def _fig4(results, manifest, cells, rows):
    fits = transition_fit(rows)
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    im, xs, ys = _heat(ax, rows, "r", "N", "success rate over N x r")
    ax.set(xlabel="r", ylabel="N (samples)")
    fig.colorbar(im, ax=ax)
    f = fits["fit_vs_r"]
    ax.set_title(f"paper: N* linear in r; fit N* = {f['intercept']:.0f} + {f['slope']:.2f} r", fontsize=9)
    return _write(results, fig, "fig4_phase_transition.png", fits)


def _fig5(results, manifest, cells, rows):
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    fits = {}
    for lev in sorted({float(r["noise"]) for r in rows}):
        sub = [r for r in rows if float(r["noise"]) == lev]
        sr = np.sqrt(_f(sub, "r"))
        e, lo, hi = _f(sub, "rel_err"), _f(sub, "ci_low"), _f(sub, "ci_high")
        ax.errorbar(sr, e, yerr=[e - lo, hi - e], fmt="o-", capsize=3, label=f"sigma/E_y = {lev:g}")
        fits[f"noise={lev:g}"] = {"fit_vs_sqrt_r": line_fit(sr, e), "fit_over_noise_vs_sqrt_r": line_fit(sr, e / lev)}
    ax.set(xlabel="sqrt(r)", ylabel="||W - W*|| / ||W*||", title="paper: error linear in sqrt(r), prop. to noise")
    ax.legend(fontsize=8)
    return _write(results, fig, "fig5_noisy_error.png", fits)


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
        ax.axvline(100 * p["r_star"] / p["d"], color="k", ls=":", lw=1)
        ax.set_xlim(105, 0)
        ax.set_xlabel("remaining parameters (%)")
    axes[0].set(yscale="log", ylabel="relative test error", title="IMP on synthetic data (dotted: r*/d)")
    axes[1].set(ylabel="fraction of the teacher's weights kept", title="support recall of the mask")
    axes[0].legend(fontsize=8)
    fits = {"N": sorted({int(r["N"]) for r in rows}),
            "best_round": {str(N): min((r for r in rows if int(r["N"]) == N), key=lambda r: float(r["test_err_median"]))
                           for N in sorted({int(r["N"]) for r in rows})}}
    return _write(results, fig, "fig6_imp_synthetic.png", fits)


def _hessian(results, manifest, cells, rows):
    from theory.relu_moments import lambda_min_scaled

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    fits = {}
    for lay, mk in (("random", "o"), ("disjoint", "s")):
        sub = [r for r in rows if r["layout"] == lay and r["point"] == "W*"]
        if not sub:
            continue
        x = _f(sub, "sqrt_Kr_over_N")
        y, lo, hi = _f(sub, "K2_lambda_min"), _f(sub, "ci_low"), _f(sub, "ci_high")
        axes[0].errorbar(x, y, yerr=[y - lo, hi - y], fmt=mk, capsize=2, label=f"{lay} supports")
        axes[1].plot(x, _f(sub, "K_lambda_max"), mk, label=f"{lay} supports")
        fits[lay] = {"K2_lambda_min_vs_sqrt_Kr_over_N": line_fit(x, y),
                     "K_lambda_max_median": float(np.median(_f(sub, "K_lambda_max")))}
        near = [r for r in rows if r["layout"] == lay and r["point"] != "W*"]
        fits[lay]["near_K2_lambda_min_vs_sqrt_Kr_over_N"] = line_fit(_f(near, "sqrt_Kr_over_N"), _f(near, "K2_lambda_min"))
    axes[0].axhline(lambda_min_scaled(), color="k", ls="--", lw=1, label="population, disjoint: 1/2 - 1/(2 pi)")
    axes[0].set(xlabel="sqrt(K r / N)", ylabel="K^2 lambda_min(Hessian at W*)",
                title="Theorem 1: lower bound Theta((1 - eps0 - eps1)/K^2), eps1 ~ sqrt(r/N)")
    axes[1].set(xlabel="sqrt(K r / N)", ylabel="K lambda_max", title="upper bound Theta(1/K)")
    axes[0].legend(fontsize=8)
    fits["population_K2_lambda_min_disjoint"] = lambda_min_scaled()
    return _write(results, fig, "hessian_eigenvalues.png", fits)


def _tensor(results, manifest, cells, rows):
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    fits = {}
    groups = sorted({(r["layout"], int(r["K"]), int(r["d"]), int(r["r"])) for r in rows})
    for lay, K, d, r in groups:
        sub = [x for x in rows if (x["layout"], int(x["K"]), int(x["d"]), int(x["r"])) == (lay, K, d, r)]
        N = _f(sub, "N")
        e, lo, hi = _f(sub, "init_err"), _f(sub, "ci_low"), _f(sub, "ci_high")
        label = f"{lay} K={K} d={d} r={r}"
        ax.errorbar(N, e, yerr=[e - lo, hi - e], fmt="o-", capsize=3, label=label)
        fits[label] = {"loglog_slope": line_fit(np.log10(N), np.log10(e)),
                       "agd_success_rate": _f(sub, "agd_success_rate").tolist(), "N": N.tolist()}
    ax.set(xscale="log", yscale="log", xlabel="N (samples)", ylabel="||W(0) - W*|| / ||W*|| (best relabelling)",
           title="tensor initialization error against N")
    ax.legend(fontsize=7)
    return _write(results, fig, "tensor_init_error.png", fits)


def _fig4_nstar(results, manifest, cells, rows):
    """N* against r per AGD budget, with the intervals and weighted lines of nstar_fits.json (sim.zhang_nstar)."""
    fits = json.loads((results / "nstar_fits.json").read_text())
    fig, ax = plt.subplots(figsize=(6.5, 4.4), constrained_layout=True)
    K = fits["K"]
    for name, b in fits["budgets"].items():
        f = b["logistic"]
        r, n, ci = np.array(f["r"]), np.array(f["N_star"]), np.array(f["N_star_ci"])
        line = ax.errorbar(r, n, yerr=[n - ci[:, 0], ci[:, 1] - n], fmt="o", capsize=3, label=name)
        w = f.get("weighted_fit")
        if w:
            ax.plot(r, w["intercept"] + w["slope"] * r, "--", color=line[0].get_color(),
                    label=f"{w['intercept']:.0f} + {w['slope']:.2f} r ({w['slope_over_K']:.2f} K r)")
    rr = np.array(sorted({float(x) for b in fits["budgets"].values() for x in b["logistic"]["r"]}))
    ax.plot(rr, K * rr, "k:", label="N = K r (unknown weights)")
    ax.set(xlabel="r (inputs per neuron)", ylabel="N* (success crosses 1/2)",
           title=f"N* by bisection + logistic, K = {K}, d = {fits['d']}, {fits['trials']} draws")
    ax.legend(fontsize=7)
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
    return _KINDS[kind](results, manifest, cells, rows)
