"""Paper 000 Sec. 3 (Figs. 2, 5, 13-15 style) from saved ``deep.run`` results: for every (dataset, model) with
runs under ``results/deep/*/metrics.json`` and each training configuration (runs that differ in anything but
seed and method, e.g. the learning rate, get their own figure, named after the difference), one figure with
(a) test accuracy against the fraction of weights left, one line per method (runs that differ only in the
seed: mean with a min-max band when there are >= 2 seeds); (b) the fraction of
surviving weights whose sign differs from initialization, per level; (c) for the survivors of the last level,
the fraction whose sign still changed after level 0 (Fig. 5: when signs settle), mean bar and one dot per seed.

``python -m figures.deep_lrr_imp [--results results/deep] [--out results/figures]``; ``make figures`` calls
``main``.  Without saved runs it prints the command that makes them.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deep import methods, signs  # noqa: E402


BASE_METHODS = ("lrr", "imp", "wr", "imp-rand", "lrr-rand")
_NAMES = {"train.lr": "lr", "train.epochs": "epochs/level", "train.batch": "batch", "train.momentum": "momentum",
          "train.weight_decay": "wd", "cycle.levels": "levels", "cycle.keep": "keep/level",
          "cycle.rewind_epoch": "rewind epoch", "n_train": "n_train"}


def flatten(config: dict, prefix: str = "") -> dict:
    """{"train": {"lr": 0.1}} -> {"train.lr": 0.1}."""
    out = {}
    for k, v in config.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _frozen(d: dict) -> tuple:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in d.items()))


def group_runs(items) -> dict:
    """Runs ``(folder, metrics)`` -> {figure key: {line label: [runs]}}.  One figure per (dataset, model) and
    configuration with the seed and the method left out (so runs at different learning rates never share a
    figure, let alone a curve); in a figure one line per method (plus any other setting that differs between
    its runs), averaged over the seeds."""
    figs: dict = {}
    for folder, m in items:
        config = dict(m["config"])
        if isinstance(config.get("cycle"), dict):
            config["cycle"] = methods.cycle_record(config["cycle"])
        flat = flatten(config)
        flat.pop("seed", None)
        rewind, mask = flat.pop("cycle.rewind", None), flat.pop("cycle.mask", None)
        method = methods.label(rewind, mask) if rewind and mask else "run"
        fig_key = (flat.get("dataset", "data"), flat.get("model", "model"), _frozen(flat))
        figs.setdefault(fig_key, {}).setdefault(method, []).append((folder, m))
    return figs


def config_of(fig_key) -> dict:
    return {k: json.loads(v) for k, v in fig_key[2]}


def differing(configs: list[dict]) -> set:
    keys = set().union(*configs) if configs else set()
    return {k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c in configs}) > 1}


def describe(config: dict, keys=None) -> str:
    """Readable setting of a figure, e.g. "lr 0.05, 10 epochs/level" (``keys``: only those fields)."""
    keys = [k for k in _NAMES if k in config] if keys is None else sorted(keys)
    parts = []
    for k in keys:
        v = config.get(k)
        name = _NAMES.get(k, k.split(".")[-1])
        parts.append(f"{name} {v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{name} {v}")
    return ", ".join(parts)


def figure_names(fig_keys) -> dict:
    """File stem per figure: ``deep-<dataset>-<model>-lrr-vs-imp``; where one (dataset, model) has several
    configurations, all but the one with the most runs get the differing settings in the name
    (``deep-mnist-5k-lenet5-lr0.05-lrr-vs-imp``)."""
    by_dm: dict = {}
    for key, n_runs in fig_keys.items():
        by_dm.setdefault(key[:2], []).append((key, n_runs))
    names = {}
    for (dataset, model), keys in by_dm.items():
        keys.sort(key=lambda kv: (-kv[1], kv[0]))
        diff = differing([config_of(k) for k, _ in keys])
        for i, (key, _) in enumerate(keys):
            cfg = config_of(key)
            tag = "".join(f"-{_NAMES.get(k, k.split('.')[-1]).split('/')[0].replace(' ', '')}{cfg.get(k)}"
                          for k in sorted(diff)) if i else ""
            names[key] = re.sub(r"[^A-Za-z0-9.\-_]", "", f"deep-{dataset}-{model}{tag}-lrr-vs-imp")
    return names


def items_note(groups: dict) -> str:
    """The data note saved with the runs of a figure ("" when none or when they disagree)."""
    notes = {m.get("data_note", "") for runs_ in groups.values() for _, m in runs_}
    return notes.pop() if len(notes) == 1 else ""


def band_label(n_seeds: list[int]) -> str:
    """y label of a per-level panel: the band is promised only when some line has >= 2 seeds."""
    return "mean over seeds (band: min-max when >= 2 seeds)" if max(n_seeds, default=0) >= 2 else "one seed per line"


def short_band(n_seeds: list[int]) -> str:
    return "mean, band min-max" if max(n_seeds, default=0) >= 2 else "one seed"


def main(out_dir: Path, results: Path = Path("results/deep")) -> list[Path]:
    items = [(f.parent, json.loads(f.read_text())) for f in sorted(Path(results).glob("*/metrics.json"))]
    if not items:
        print("deep: no saved runs; e.g. python -m deep.run --dataset mnist1d --model cnn --method lrr --levels 10")
        return []
    figs = group_runs(items)
    names = figure_names({k: sum(len(r) for r in v.values()) for k, v in figs.items()})
    written = []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for fig_key, groups in figs.items():
        dataset, model = fig_key[:2]
        config = config_of(fig_key)
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
        order = sorted(groups, key=lambda g: (g not in BASE_METHODS, BASE_METHODS.index(g) if g in BASE_METHODS
                                              else 0, g))
        settled = {}
        n_seeds = []
        all_dens = set()
        for label, runs_ in ((g, groups[g]) for g in order):
            style = "o-" if label in BASE_METHODS else "s--"
            dens = [r["density"] for r in runs_[0][1]["metrics"]]
            all_dens.update(dens)
            acc = np.array([[r["test_acc"] for r in m["metrics"]] for _, m in runs_])
            flips = np.array([m["signs"]["flips_from_init"] for _, m in runs_])
            n_seeds.append(len(runs_))
            name = f"{label} ({len(runs_)} seed{'s' if len(runs_) > 1 else ''})"
            line, = axes[0].plot(dens, acc.mean(0), style, ms=4, label=name)
            axes[1].plot(range(len(dens)), flips.mean(0), style, ms=4, color=line.get_color(), label=name)
            if len(runs_) > 1:
                axes[0].fill_between(dens, acc.min(0), acc.max(0), color=line.get_color(), alpha=0.15)
                axes[1].fill_between(range(len(dens)), flips.min(0), flips.max(0), color=line.get_color(), alpha=0.15)
            fr = []
            for folder, _ in runs_:
                h = np.load(folder / "signs.npz")["history"]
                alive = h[-1] != 0
                fr.append(float((signs.last_change(h)[alive] > 0).mean()))
            settled[label] = (fr, line.get_color())
        axes[0].set(xscale="log", xlabel="fraction of weights left (log scale)",
                    ylabel="test accuracy\n" + band_label(n_seeds), title="accuracy per pruning level")
        ticks = [d for d in (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001)
                 if min(all_dens) * 0.9 <= d <= max(all_dens) * 1.1]
        axes[0].set_xticks(ticks, [f"{d:g}" for d in ticks])
        axes[0].xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        axes[0].invert_xaxis()
        axes[1].set(xlabel="pruning level (0 = dense)",
                    ylabel="surviving weights with sign != initial sign\n(fraction; " + short_band(n_seeds) + ")",
                    title="sign flips from initialization")
        labels = list(settled)
        x = np.arange(len(labels))
        axes[2].bar(x, [np.mean(settled[k][0]) for k in labels], width=0.6, color=[settled[k][1] for k in labels],
                    alpha=0.6, label="mean over seeds")
        for i, k in enumerate(labels):
            axes[2].plot(np.full(len(settled[k][0]), x[i]), settled[k][0], "k.", ms=5,
                         label="one seed" if i == 0 else None)
        axes[2].set_xticks(x, labels)
        axes[2].set_xlim(-0.7, max(len(labels), 2) - 0.3)
        axes[2].set(xlabel="method", ylabel="fraction of last-level survivors\nwhose sign changed after level 0",
                    title="do signs still switch after level 0?")
        axes[2].legend(fontsize=7)
        for ax in axes[:2]:
            ax.legend(fontsize=7)
        fig.suptitle(f"{dataset}, {model}: {describe(config)}"
                     + (f"\n{note}" if (note := items_note(groups)) else ""), fontsize=10)
        path = out_dir / f"{names[fig_key]}.png"
        fig.savefig(path, dpi=130)
        plt.close(fig)
        written.append(path)
    return written


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m figures.deep_lrr_imp", description=__doc__)
    p.add_argument("--results", type=Path, default=Path("results/deep"))
    p.add_argument("--out", type=Path, default=Path("results/figures"))
    a = p.parse_args()
    for path in main(a.out, a.results):
        print(f"wrote {path}")
