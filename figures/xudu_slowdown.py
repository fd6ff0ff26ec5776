"""Paper 002 (Xu & Du 2023): over-parameterization slows gradient descent.  Figures from saved results.

``plot(results, kind)`` reads ``manifest.json`` and ``cells/*.npz`` of a results folder and writes:

* kind ``rates`` (xudu-rates, xudu-flow): ``slowdown.png``: median loss against T per n on log-log and
  log-linear axes (n = 1 linear, n >= 2 ~ T^-3, with a T^-3 guide) and, where the cells hold it, the
  model-free local exponent d log L / d log T against T per n >= 2 (median over trials; a power law is a
  plateau, here approached from above, a linear rate would fall off the panel), and ``phases.png``: for one trial of
  the smallest n >= 2, the angles theta_i, the projections h_i and H, the residual ||v|| - H, the loss with
  its linear and angular parts, and Z(T) T (Z ~ 1/T), with T1 and T2 marked;
* kind ``grid`` (xudu-exponent-n-init / -n-d): ``exponent.png``: the fitted exponent with its 95 %
  interval against the grid axis, one line per n, and the paper's -3;
* kind ``samples`` (xudu-finite-sample): ``samples.png``: population loss against T per N, one panel per n.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.rates import FLOOR, median_ci  # noqa: E402
from sim.sweep import load_results  # noqa: E402


def _xlabel(cell: dict) -> str:
    return "time t (gradient flow)" if cell["trainer"] == "flow" else "GD step T"


def _rates(results: Path, manifest: dict, cells) -> list[Path]:
    local = any("p_loc" in arr for _, arr in cells)
    fig, axes = plt.subplots(1, 3 if local else 2, figsize=(16 if local else 11, 4.2), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    if local:
        ax = axes[2]
        for k, (cell, arr) in enumerate(cells):
            if cell["n"] < 2 or "p_loc" not in arr:
                continue
            with warnings.catch_warnings():  # the first record interval (t = 0) is nan in every trial
                warnings.simplefilter("ignore", RuntimeWarning)
                p = np.nanmedian(arr["p_loc"], axis=0)
            ok = np.isfinite(p) & np.isfinite(arr["t_loc"])
            ax.plot(arr["t_loc"][ok], p[ok], color=cmap(k / max(len(cells) - 1, 1)),
                    label=f"n = {cell['n']} (end {np.nanmedian(arr['p_loc_end']):.3f})")
        ax.axhline(-3.0, color="k", ls="--", lw=1, label="-3")
        ax.set(xscale="log", ylim=(-3.3, 0.2), xlabel=_xlabel(cells[0][0]), ylabel="local exponent d log L / d log T",
               title="model-free: local log-log slope (no fit)")
        ax.legend(fontsize=8)
        axes = axes[:2]
    for k, (cell, arr) in enumerate(cells):
        t, L = arr["t"], np.median(arr["loss"], axis=0)
        ok = (t > 0) & (L > FLOOR)  # below FLOOR the loss is float64 round-off (integrator noise for the flow)
        e = np.nanmedian(arr["exponent"]) if cell["n"] > 1 else np.nan
        label = f"n = {cell['n']}" + (f" (fit {e:.2f})" if np.isfinite(e) else "")
        for ax in axes:
            ax.plot(t[ok], L[ok], color=cmap(k / max(len(cells) - 1, 1)), label=label)
    t_end = cells[0][1]["t"][-1]
    guide_t = np.array([t_end / 30, t_end])
    L_ref = np.median(cells[-1][1]["loss"][:, -1]) if cells[-1][0]["n"] > 1 else 1e-8
    axes[0].plot(guide_t, L_ref * (guide_t / t_end) ** -3.0, "k--", lw=1, label="slope -3")
    axes[0].set(xscale="log", yscale="log", xlabel=_xlabel(cells[0][0]), ylabel="population loss L",
                title="log-log: n >= 2 are straight lines of slope -3")
    axes[1].set(yscale="log", xlabel=_xlabel(cells[0][0]), ylabel="population loss L",
                title="log-linear: only n = 1 is a straight line")
    for ax in axes:
        ax.axhline(FLOOR, color="gray", ls=":", lw=0.8)
        ax.text(ax.get_xlim()[0], FLOOR, " float64 round-off floor (not plotted below)", fontsize=7,
                color="gray", va="bottom")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{manifest['diagram']} ({manifest['scale']}): median of {cells[0][0]['trials']} trials, "
                 f"d = {cells[0][0]['d']}, init scale {cells[0][0]['init_scale']:g}")
    out = [results / "slowdown.png"]
    fig.savefig(out[0], dpi=130)
    plt.close(fig)
    over = [(c, a) for c, a in cells if c["n"] >= 2]
    if over:
        out.append(_phases(results, *over[0]))
    return out


def _phases(results: Path, cell: dict, arr: dict, trial: int = 0) -> Path:
    t = arr["t"]
    ok = t > 0
    T1, T2 = arr["T1"][trial], arr["T2"][trial]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True, sharex=True)
    a = axes[0, 0]
    a.plot(t[ok], arr["theta"][trial][ok])
    a.set(yscale="log", ylabel="theta_i (angle to v)", title="Phase 1: the angles close while |w_i| is small")
    a = axes[0, 1]
    a.plot(t[ok], arr["h"][trial][ok], lw=1)
    a.plot(t[ok], arr["h"][trial][ok].sum(-1), "k", lw=2, label="H = sum h_i")
    a.set(ylabel="h_i = |w_i| cos theta_i", title="projections on v: balanced, H -> ||v||")
    a.legend(fontsize=8)
    a = axes[1, 0]
    L, lin = arr["loss"][trial], arr["linear"][trial]
    resid = np.abs(1.0 - arr["h"][trial].sum(-1))
    a.plot(t[ok], L[ok], "k", label="loss L")
    a.plot(t[ok], lin[ok], label="linear part |sum w - v|^2/4")
    a.plot(t[ok], np.abs(L - lin)[ok], label="|angular part|")
    a.plot(t[ok], resid[ok], ":", label="||v|| - H")
    a.set(xscale="log", yscale="log", xlabel=_xlabel(cell), title="Phase 2: residual falls fast; Phase 3: angles, slowly")
    a.set_ylim(bottom=max(FLOOR, 0.1 * float(np.min(L[ok]))))  # below: float64 round-off spikes
    a.legend(fontsize=8)
    a = axes[1, 1]
    a.plot(t[ok], arr["Z"][trial][ok] * t[ok], label="Z(T) T (Z: our separation potential)")
    a.plot(t[ok], arr["max_pair_angle"][trial][ok] * t[ok], label="max_ij theta_ij T")
    a.set(xscale="log", yscale="log", xlabel=_xlabel(cell), title="Z ~ 1/T: the separation decays only like 1/T")
    a.legend(fontsize=8)
    for ax in axes.flat:
        for T, name in ((T1, "T1"), (T2, "T2")):
            if np.isfinite(T) and T > 0:
                ax.axvline(T, color="gray", ls="--", lw=0.8)
                ax.text(T, ax.get_ylim()[1], name, fontsize=8, va="top")
        ax.set_xscale("log")
    fig.suptitle(f"phases of one trial: n = {cell['n']}, d = {cell['d']}, init scale {cell['init_scale']:g}")
    path = results / "phases.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _grid(results: Path, manifest: dict, cells) -> Path:
    axis = manifest["params"]["axis"]
    key = {"ds": "d", "init_scales": "init_scale"}[axis]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    ns = sorted({c["n"] for c, _ in cells})
    for n in ns:
        sel = sorted([(c[key], median_ci(a["exponent"])) for c, a in cells if c["n"] == n])
        x = np.array([s[0] for s in sel], dtype=float)
        m, lo, hi = (np.array([s[1][i] for s in sel]) for i in range(3))
        ax.errorbar(x, m, yerr=[m - lo, hi - m], marker="o", capsize=3, label=f"n = {n}")
    ax.axhline(-3, color="k", ls="--", lw=1, label="paper: -3")
    ax.set(xscale="log", xlabel=key, ylabel="fitted exponent p of L ~ (T + T0)^p",
           title=f"{manifest['diagram']} ({manifest['scale']}): median and 95% bootstrap interval")
    ax.legend(fontsize=8)
    path = results / "exponent.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _samples(results: Path, manifest: dict, cells) -> Path:
    ns = sorted({c["n"] for c, _ in cells})
    fig, axes = plt.subplots(1, len(ns), figsize=(5.2 * len(ns), 4.2), constrained_layout=True, squeeze=False)
    for ax, n in zip(axes[0], ns):
        sel = sorted([(c["samples"], a) for c, a in cells if c["n"] == n], key=lambda s: s[0])
        for k, (N, a) in enumerate(sel):
            t, L = a["t"], np.median(a["loss"], axis=0)
            ok = (t > 0) & (L > FLOOR)
            ax.plot(t[ok], L[ok], color=plt.get_cmap("plasma")(k / max(len(sel) - 1, 1)), label=f"N = {N}")
        ax.set(xscale="log", yscale="log", xlabel="GD step T", ylabel="population loss (empirical GD)",
               title=f"n = {n}")
        ax.legend(fontsize=8)
    fig.suptitle(f"{manifest['diagram']} ({manifest['scale']}): finite N stalls the population loss at a floor")
    path = results / "samples.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot(results: Path, kind: str = "rates") -> list[Path]:
    results = Path(results)
    manifest, cells = load_results(results)
    if kind == "rates":
        return _rates(results, manifest, cells)
    if kind == "grid":
        return [_grid(results, manifest, cells)]
    if kind == "samples":
        return [_samples(results, manifest, cells)]
    raise ValueError(f"unknown figure kind {kind!r}")
