"""Paper 000 Sec. 3 (Figs. 2, 5, 13-15 style) from saved ``deep.run`` results: for every (dataset, model) with
runs under ``results/deep/*/metrics.json``, one figure with (a) test accuracy against the fraction of weights
left, one line per method (runs that differ only in the seed: mean with a min-max band); (b) the fraction of
surviving weights whose sign differs from initialization, per level; (c) for the survivors of the last level,
the fraction whose sign still changed after level 0 (Fig. 5: when signs settle).

``python -m figures.deep_lrr_imp [--results results/deep] [--out results/figures]``; ``make figures`` calls
``main``.  Without saved runs it prints the command that makes them.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deep import signs  # noqa: E402


def main(out_dir: Path, results: Path = Path("results/deep")) -> list[Path]:
    runs = defaultdict(list)
    for f in sorted(Path(results).glob("*/metrics.json")):
        m = json.loads(f.read_text())
        runs[(m["config"]["dataset"], m["config"].get("model", "model"))].append((f.parent, m))
    if not runs:
        print("deep: no saved runs; e.g. python -m deep.run --dataset mnist1d --model cnn --method lrr --levels 10")
        return []
    written = []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for (dataset, model), items in runs.items():
        groups = defaultdict(list)  # runs that differ only in the seed are averaged
        for folder, m in items:
            prefix = f"{dataset}-{model}-"
            label = folder.name[len(prefix):] if folder.name.startswith(prefix) else folder.name
            label = re.sub(r"-seed\d+$", "", label)
            groups[label].append((folder, m))
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
        settled = {}
        for label, runs_ in sorted(groups.items()):
            base = label in ("lrr", "imp", "wr", "imp-rand", "lrr-rand")
            style = "o-" if base else "s--"
            dens = [r["density"] for r in runs_[0][1]["metrics"]]
            acc = np.array([[r["test_acc"] for r in m["metrics"]] for _, m in runs_])
            flips = np.array([m["signs"]["flips_from_init"] for _, m in runs_])
            n = f" (n={len(runs_)})" if len(runs_) > 1 else ""
            line, = axes[0].plot(dens, acc.mean(0), style, ms=4, label=label + n)
            if len(runs_) > 1:
                axes[0].fill_between(dens, acc.min(0), acc.max(0), color=line.get_color(), alpha=0.15)
            axes[1].plot(range(len(dens)), flips.mean(0), style, ms=4, color=line.get_color(), label=label + n)
            fr = []
            for folder, _ in runs_:
                h = np.load(folder / "signs.npz")["history"]
                alive = h[-1] != 0
                fr.append(float((signs.last_change(h)[alive] > 0).mean()))
            settled[label] = (np.mean(fr), line.get_color())
        axes[0].set(xscale="log", xlabel="fraction of weights left", ylabel="test accuracy (mean; band: min-max)",
                    title=f"{dataset}, {model}: accuracy per pruning level")
        axes[0].invert_xaxis()
        axes[1].set(xlabel="pruning level", ylabel="survivors with sign != initial sign",
                    title="sign flips from initialization")
        labels = list(settled)
        axes[2].barh(range(len(labels)), [settled[k][0] for k in labels], color=[settled[k][1] for k in labels])
        axes[2].set_yticks(range(len(labels)), labels, fontsize=8)
        axes[2].set(xlabel="fraction of last-level survivors whose sign changed after level 0",
                    title="sign switches across levels")
        for ax in axes[:2]:
            ax.legend(fontsize=7)
        path = out_dir / f"deep-{dataset}-{model}-lrr-vs-imp.png"
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
