"""Paper 002 (Xu & Du 2023): over-parameterization slows gradient descent.  Figures from saved results.

``plot(results, kind)`` reads ``manifest.json``, ``cells/*.npz`` and ``fits.json`` of a results folder (every
number it prints, such as fitted exponents, their intervals, where a curve levels off or reaches the float64
floor, comes from ``fits.json``, written by the diagram's fit step in :mod:`sim.xudu.diagrams`) and writes:

* kind ``rates`` (xudu-rates, xudu-flow, xudu-long-horizon): ``slowdown.png``: median loss against T per n on log-log and
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

import json
import warnings
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.core.sweep import load_results  # noqa: E402


def read_fits(results: Path) -> dict:
    """The diagram's ``fits.json`` (a one-line error when the folder predates it)."""
    path = Path(results) / "fits.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the same sim.phase_diagram command again (it reuses "
                                f"the cells and writes the fits)")
    return json.loads(path.read_text())


def _num(x) -> float:
    """A number of fits.json, nan where it holds none (null)."""
    return float("nan") if x is None else float(x)


def _xlabel(cell: dict) -> str:
    return "time t (gradient flow)" if cell["trainer"] == "flow" else "GD step T"


def xlabel_for(cells) -> str:
    """The time axis label for cells that may mix GD and the flow."""
    names = sorted({_xlabel(c) for c in cells})
    return names[0] if len(names) == 1 else "GD step T  /  time t (gradient flow)"


def until_floor(y: np.ndarray, floor: float) -> np.ndarray:
    """Mask of the points of a decaying curve up to (not including) its first value <= floor or non-finite:
    after a curve first reaches its round-off floor, everything it draws is noise, not data."""
    y = np.asarray(y, dtype=float)
    bad = ~np.isfinite(y) | (y <= floor)
    mask = np.ones(y.shape, dtype=bool)
    if bad.any():
        mask[int(np.argmax(bad)):] = False
    return mask


def cell_label(cell: dict, mixed: bool) -> str:
    """Legend name of a cell; with GD and flow cells in one figure the trainer is named too."""
    name = f"n = {cell['n']}"
    if mixed:
        name += " flow" if cell["trainer"] == "flow" else f" GD (lr {cell['lr']:g})"
    return name


def end_note(fit: dict, floor: float) -> str:
    """Legend note of a median loss curve from its fits: where it reaches the float64 floor, or else its
    log-log slope over the last decade of T (near 0: levelled off; -3: the paper's rate)."""
    if fit["median_loss_floor_at"] is not None:
        return f"reaches {floor:g} at T = {fit['median_loss_floor_at']:.3g}"
    if fit["median_loss_last_decade_slope"] is not None:
        return f"last-decade slope {fit['median_loss_last_decade_slope']:.2f}"
    return ""


def _rates(results: Path, manifest: dict, cells, fits: dict) -> list[Path]:
    loss_floor = fits["loss_floor"]
    local = any("p_loc" in arr for _, arr in cells)
    mixed = len({c["trainer"] for c, _ in cells}) > 1
    xlab = xlabel_for([c for c, _ in cells])
    fig, axes = plt.subplots(1, 3 if local else 2, figsize=(16 if local else 11, 4.2), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    ns = sorted({c["n"] for c, _ in cells})
    color = {n: cmap(i / max(len(ns) - 1, 1)) for i, n in enumerate(ns)}
    if local:
        ax = axes[2]
        for k, (cell, arr) in enumerate(cells):
            if cell["n"] < 2 or "p_loc" not in arr:
                continue
            with warnings.catch_warnings():  # the first record interval (t = 0) is nan in every trial
                warnings.simplefilter("ignore", RuntimeWarning)
                p = np.nanmedian(arr["p_loc"], axis=0)
            ok = np.isfinite(p) & np.isfinite(arr["t_loc"])
            p_end = _num(fits["cells"][cell["key"]]["p_loc_end"]["median"])
            ax.plot(arr["t_loc"][ok], p[ok], color=color[cell["n"]],
                    ls="--" if mixed and cell["trainer"] == "flow" else "-",
                    label=f"{cell_label(cell, mixed)} (at end {p_end:.2f})")
        ax.axhline(-3.0, color="k", ls=":", lw=1, label="paper: -3")
        ax.set(xscale="log", ylim=(-3.3, 1.3), xlabel=xlab,
               ylabel="local exponent d log L / d log T  (median)",
               title="model-free local log-log slope, n >= 2 (no fit;\ncurves leave below -3.3 in the fast phase)")
        ax.legend(fontsize=7, loc="upper right", ncol=2)
        axes = axes[:2]
    for k, (cell, arr) in enumerate(cells):
        t, L = arr["t"], np.median(arr["loss"], axis=0)
        ok = (t > 0) & (L > loss_floor)  # below it: float64 round-off (integrator noise for the flow)
        e = _num(fits["cells"][cell["key"]]["exponent"]["median"]) if cell["n"] > 1 else np.nan
        label = cell_label(cell, mixed) + (f" (fit p {e:.2f})" if np.isfinite(e) else "")
        for ax in axes:
            ax.plot(t[ok], L[ok], color=color[cell["n"]], label=label,
                    ls="--" if mixed and cell["trainer"] == "flow" else "-")
    t_end = cells[0][1]["t"][-1]
    guide_t = np.array([t_end / 30, t_end])
    L_ref = np.median(cells[-1][1]["loss"][:, -1]) if cells[-1][0]["n"] > 1 else 1e-8
    axes[0].plot(guide_t, L_ref * (guide_t / t_end) ** -3.0, "k--", lw=1, label="slope -3")
    axes[0].set(xscale="log", yscale="log", xlabel=xlab, ylabel="population loss L (median)",
                title="log-log: late in training n >= 2 follow slope -3")
    axes[1].set(yscale="log", xlabel=xlab, ylabel="population loss L (median)",
                title="log-linear: a linear rate is a straight line")
    for ax in axes:
        ax.axhline(loss_floor, color="gray", ls=":", lw=0.8)
        ax.text(ax.get_xlim()[0], loss_floor, " float64 round-off floor (not plotted below)", fontsize=7,
                color="gray", va="bottom")
    axes[0].legend(fontsize=8)
    trials = sorted({(c["trainer"], c["trials"]) for c, _ in cells})
    trials = ", ".join(f"{k} {'GD' if tr == 'gd' else tr}" for tr, k in trials) if mixed else str(cells[0][0]["trials"])
    fig.suptitle(f"{manifest['diagram']} ({manifest['scale']}): median over trials ({trials}), "
                 f"d = {cells[0][0]['d']}, initialization scale s = {cells[0][0]['init_scale']:g}"
                 + ("; dashed: gradient flow" if mixed else ""))
    out = [results / "slowdown.png"]
    fig.savefig(out[0], dpi=130)
    plt.close(fig)
    over = [(c, a) for c, a in cells if c["n"] >= 2]
    if over:
        out.append(_phases(results, *over[0], fits))
    return out


def _phases(results: Path, cell: dict, arr: dict, fits: dict, trial: int = 0) -> Path:
    loss_floor, resid_floor = fits["loss_floor"], fits["residual_floor"]
    fit = fits["cells"][cell["key"]]
    t = arr["t"]
    ok = t > 0
    T1, T2 = arr["T1"][trial], arr["T2"][trial]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.4), constrained_layout=True, sharex=True)
    a = axes[0, 0]
    a.plot(t[ok], arr["theta"][trial][ok])
    a.set(yscale="log", ylabel="theta_i: angle of w_i to v (rad)", title="Phase 1: the angles close while |w_i| is small")
    a = axes[0, 1]
    h = arr["h"][trial][ok]
    for i in range(h.shape[-1]):
        a.plot(t[ok], h[:, i], lw=1, label="h_i, one per neuron" if i == 0 else None)
    a.plot(t[ok], h.sum(-1), "k", lw=2, label="H = sum h_i")
    a.set(ylabel="h_i = |w_i| cos theta_i", title="projections on v (||v|| = 1): balanced, H -> ||v||")
    a.legend(fontsize=8, loc="lower right")
    a = axes[1, 0]
    L, lin = arr["loss"][trial], arr["linear"][trial]
    resid = np.abs(1.0 - arr["h"][trial].sum(-1))
    for y, style, label, floor in ((L, "k-", "loss L", loss_floor),
                                   (lin, "-", "linear part |sum w - v|^2/4", loss_floor),
                                   (np.abs(L - lin), "-", "|angular part| = |L - linear part|", loss_floor),
                                   (resid, ":", "| ||v|| - H |", resid_floor)):
        keep = until_floor(y[ok], floor)
        a.plot(t[ok][keep], y[ok][keep], style, label=label)
    a.set(xscale="log", yscale="log", xlabel=_xlabel(cell), ylabel="loss and its parts",
          title="Phase 2: residual falls fast; Phase 3: angles, slowly")
    a.set_ylim(bottom=max(loss_floor, 0.1 * float(np.min(L[ok]))))
    a.legend(fontsize=8, loc="upper right", title_fontsize=7,
             title="curves stop at float64 round-off:\n1e-26 for L and parts, 1e-13 for ||v|| - H")
    a = axes[1, 1]
    ZT = arr["Z"][trial] * t
    a.plot(t[ok], ZT[ok], label="Z(T) T (Z: our separation potential)")
    a.plot(t[ok], arr["max_pair_angle"][trial][ok] * t[ok], label="max_ij theta_ij T (theta_ij: angle w_i, w_j)")
    T_flat = _num(fit["ZT_flat_from"][trial])
    if np.isfinite(T_flat):
        rise = _num(fit["ZT_rise_decades"][trial])
        title = (f"Z(T) T against T: rises {rise:.1f} decades, flat from T ~ {T_flat:.2g}\n"
                 "(Z ~ 1/T only there)")
        a.axvspan(T_flat, t[-1], color="0.9", zorder=0, label="flat: Z(T) T within x1.26 of its end")
    else:
        title = "Z(T) T against T: still rising at the end (Z ~ 1/T not reached)"
    a.set(xscale="log", yscale="log", xlabel=_xlabel(cell), ylabel="Z(T) T  and  max_ij theta_ij T", title=title)
    a.legend(fontsize=8, loc="lower right")
    marks = [(T, name) for T, name in ((T1, "T1"), (T2, "T2")) if np.isfinite(T) and T > 0]
    for ax in axes.flat:
        ax.set_xscale("log")
        for T, _ in marks:
            ax.axvline(T, color="gray", ls="--", lw=0.8)
        if marks:  # named above the frame, clear of the curves and of the frame line
            top = ax.secondary_xaxis("top")
            top.set_xticks([T for T, _ in marks], [name for _, name in marks], fontsize=8, color="0.3")
            top.tick_params(length=2, pad=1)
            top.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    fig.suptitle(f"phases of one trial (trial {trial}): n = {cell['n']}, d = {cell['d']}, initialization scale "
                 f"s = {cell['init_scale']:g}\nT1: end of phase 1 (max angle <= 0.1); "
                 "T2: start of the slow phase (angular part of L >= linear part)", fontsize=10)
    path = results / "phases.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


AXIS_LABEL = {"d": "input dimension d",
              "init_scale": "initialization scale s  (w_i(0) ~ N(0, s^2 I/d))"}


def tick_labels(values) -> list[str]:
    """Plain labels for the grid values themselves (2, 5, 20; 0.001, 0.01, 0.1), not powers of ten."""
    return [f"{v:g}" for v in values]


def _grid(results: Path, manifest: dict, cells, fits: dict) -> Path:
    axis = manifest["params"]["axis"]
    key = {"ds": "d", "init_scales": "init_scale"}[axis]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), constrained_layout=True)
    ns = sorted({c["n"] for c, _ in cells})
    for n in ns:
        sel = sorted([(c[key], [_num(fits["cells"][c["key"]]["exponent"][q]) for q in ("median", "ci_low", "ci_high")])
                      for c, _ in cells if c["n"] == n])
        x = np.array([s[0] for s in sel], dtype=float)
        m, lo, hi = (np.array([s[1][i] for s in sel]) for i in range(3))
        ax.errorbar(x, m, yerr=[m - lo, hi - m], marker="o", capsize=3, label=f"n = {n}")
    ax.axhline(-3, color="k", ls="--", lw=1, label="paper: -3")
    ax.set(xscale="log", xlabel=AXIS_LABEL[key], ylabel="fitted exponent p of L ~ (T + T0)^p",
           title=f"{manifest['diagram']} ({manifest['scale']}): median and 95% bootstrap interval")
    values = sorted({float(c[key]) for c, _ in cells})
    ax.set_xticks(values, tick_labels(values))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.legend(fontsize=8)
    path = results / "exponent.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _samples(results: Path, manifest: dict, cells, fits: dict) -> Path:
    loss_floor = fits["loss_floor"]
    ns = sorted({c["n"] for c, _ in cells})
    fig, axes = plt.subplots(1, len(ns), figsize=(5.2 * len(ns), 4.4), constrained_layout=True, squeeze=False)
    for ax, n in zip(axes[0], ns):
        sel = sorted([(c["samples"], c["key"], a) for c, a in cells if c["n"] == n], key=lambda s: s[0])
        for k, (N, key, a) in enumerate(sel):
            t, L = a["t"], np.median(a["loss"], axis=0)
            ok = (t > 0) & (L > loss_floor)
            note = end_note(fits["cells"][key], loss_floor)
            ax.plot(t[ok], L[ok], color=plt.get_cmap("plasma")(k / max(len(sel), 1)),
                    label=f"N = {N}" + (f" ({note})" if note else ""))
        ax.set(xscale="log", yscale="log", xlabel="GD step T", ylabel="population loss L (median)",
               title=f"n = {n}")
        ax.legend(fontsize=8)
    fig.suptitle(f"{manifest['diagram']} ({manifest['scale']}): GD on N samples of a noiseless teacher, "
                 "population loss against T per N\n(legend: where a curve reaches the float64 floor, or its "
                 "log-log slope over the last decade; ~0 = levelled off)", fontsize=10)
    path = results / "samples.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot(results: Path, kind: str = "rates") -> list[Path]:
    results = Path(results)
    manifest, cells = load_results(results)
    fits = read_fits(results)
    if kind == "rates":
        return _rates(results, manifest, cells, fits)
    if kind == "grid":
        return [_grid(results, manifest, cells, fits)]
    if kind == "samples":
        return [_samples(results, manifest, cells, fits)]
    raise ValueError(f"unknown figure kind {kind!r}")
