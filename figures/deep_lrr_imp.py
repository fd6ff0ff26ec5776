"""Paper 000 Sec. 3 (Figs. 2, 5, 13-15 style) from saved ``deep.run`` results: for every (dataset, model) with
runs under ``results/deep/*/metrics.json``, one figure with (a) test accuracy against the fraction of weights
left, one line per method; (b) the fraction of surviving weights whose sign differs from initialization, per
level; (c) for the survivors of the last level, the level after which their sign never changed again.

``python -m figures.deep_lrr_imp [--results results/deep] [--out results/figures]``; ``make figures`` calls
``main``.  Without saved runs it prints the command that makes them.
"""

from __future__ import annotations

import argparse
import json
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
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
        for folder, m in items:
            method = m["config"]["cycle"]["method"] + (" (BN rewind)" if m["config"]["cycle"]["bn_rewind"] else "")
            dens = [r["density"] for r in m["metrics"]]
            axes[0].plot(dens, [r["test_acc"] for r in m["metrics"]], "o-", label=method)
            axes[1].plot(range(len(dens)), m["signs"]["flips_from_init"], "o-", label=method)
            s = np.load(folder / "signs.npz")
            alive = s["history"][-1] != 0
            lc = signs.last_change(s["history"])[alive]
            axes[2].hist(lc, bins=np.arange(s["history"].shape[0] + 1) - 0.5, alpha=0.5, label=method)
        axes[0].set(xscale="log", xlabel="fraction of weights left", ylabel="test accuracy",
                    title=f"{dataset}, {model}")
        axes[0].invert_xaxis()
        axes[1].set(xlabel="pruning level", ylabel="survivors with sign != initial sign",
                    title="sign flips from initialization")
        axes[2].set(xlabel="level after which the sign never changes", ylabel="surviving weights",
                    title="when signs settle (last-level survivors)")
        for ax in axes:
            ax.legend(fontsize=8)
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
