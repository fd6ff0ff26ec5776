"""LRR vs IMP vs WR over seeds, from the ``metrics.json`` files :mod:`deep.run` writes (paper 000 Sec. 3).

    python -m deep.summary results/deep/mnistreal-lenet5 --out results/deep/mnistreal-lenet5-summary.json

reads every ``<prefix>-<method>-seed<k>/metrics.json`` and reports:

* per method and level: test accuracy (mean, sample standard deviation, min, max over seeds) and the
  fraction of surviving weights whose sign differs from initialization (``flips_from_init``), plus the mean
  number of sign switches of the last survivors;
* per level, for each other method X (``imp``, ``wr``), the paired difference LRR - X over the seeds the two
  share: mean, standard deviation, a two-sided 95 % t-interval (n - 1 degrees of freedom) and the number of
  positive differences with the exact two-sided sign-test p-value;
* pooled over the pruned levels 1..L: the count of positive (level, seed) differences, and a t-interval of the
  per-seed mean difference over levels (the levels of one seed are not independent, so the seeds are the
  units of that interval).

Runs are paired by seed and must agree on the density of every level (same levels and keep).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np

BASE = "lrr"


def collect(prefix: str | Path) -> dict[str, dict[int, dict]]:
    """{method: {seed: metrics.json contents}} for the folders ``<prefix>-<method>-seed<k>`` holding metrics.json."""
    prefix = Path(prefix)
    pat = re.compile(re.escape(prefix.name) + r"-(.+)-seed(\d+)$")
    runs: dict[str, dict[int, dict]] = {}
    for d in sorted(prefix.parent.glob(prefix.name + "-*-seed*")):
        m = pat.match(d.name)
        if m and (d / "metrics.json").is_file():
            runs.setdefault(m.group(1), {})[int(m.group(2))] = json.loads((d / "metrics.json").read_text())
    if not runs:
        raise FileNotFoundError(f"no {prefix}-<method>-seed<k>/metrics.json found")
    return runs


def _stats(v) -> dict:
    v = np.asarray(v, dtype=float)
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return {"n": int(len(v)), "mean": float(v.mean()), "sd": sd, "min": float(v.min()), "max": float(v.max())}


def t_interval(v, level: float = 0.95) -> list[float] | None:
    """Two-sided t confidence interval for the mean of v (None with fewer than two values)."""
    from scipy import stats

    v = np.asarray(v, dtype=float)
    if len(v) < 2:
        return None
    half = stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return [float(v.mean() - half), float(v.mean() + half)]


def sign_test(v) -> dict:
    """Exact two-sided sign test of median 0 (zeros dropped)."""
    from scipy import stats

    v = np.asarray(v, dtype=float)
    pos, neg = int((v > 0).sum()), int((v < 0).sum())
    p = float(stats.binomtest(pos, pos + neg, 0.5).pvalue) if pos + neg else 1.0
    return {"positive": pos, "negative": neg, "ties": int(len(v) - pos - neg), "p_two_sided": p}


def _curve(m: dict, key: str) -> np.ndarray:
    return np.array([lv[key] for lv in m["metrics"]], dtype=float)


def summarize(runs: dict[str, dict[int, dict]], base: str = BASE) -> dict:
    if base not in runs:
        raise ValueError(f"no {base!r} runs among {sorted(runs)}")
    dens = None
    for method, by_seed in runs.items():
        for seed, m in by_seed.items():
            d = _curve(m, "density")
            if dens is None:
                dens = d
            elif len(d) != len(dens) or not np.allclose(d, dens, atol=1e-3):
                raise ValueError(f"{method} seed {seed}: densities {d.round(4).tolist()} differ from "
                                 f"{dens.round(4).tolist()}; runs must share levels and keep")
    out = {"levels": list(range(len(dens))), "density": dens.round(6).tolist(),
           "data_note": next(iter(runs[base].values())).get("data_note", ""), "methods": {}, "differences": {}}
    for method, by_seed in sorted(runs.items()):
        seeds = sorted(by_seed)
        acc = np.stack([_curve(by_seed[s], "test_acc") for s in seeds])
        flips = np.stack([np.asarray(by_seed[s]["signs"]["flips_from_init"], dtype=float) for s in seeds])
        out["methods"][method] = {
            "seeds": seeds,
            "test_acc": [_stats(acc[:, i]) for i in range(acc.shape[1])],
            "test_acc_per_seed": acc.tolist(),
            "flips_from_init": [_stats(flips[:, i]) for i in range(flips.shape[1])],
            "flips_from_init_per_seed": flips.round(6).tolist(),
            "mean_switches_survivors": _stats([by_seed[s]["signs"]["mean_switches_survivors"] for s in seeds]),
        }
    for other in sorted(set(runs) - {base}):
        seeds = sorted(set(runs[base]) & set(runs[other]))
        if not seeds:
            continue
        diff = np.stack([_curve(runs[base][s], "test_acc") - _curve(runs[other][s], "test_acc") for s in seeds])
        fl = np.stack([np.asarray(runs[base][s]["signs"]["flips_from_init"], dtype=float)
                       - np.asarray(runs[other][s]["signs"]["flips_from_init"], dtype=float) for s in seeds])
        per_level = [{"level": i, "density": float(dens[i]), **_stats(diff[:, i]), "t95": t_interval(diff[:, i]),
                      "sign_test": sign_test(diff[:, i])} for i in range(diff.shape[1])]
        pruned = diff[:, 1:]
        out["differences"][f"{base}-{other}"] = {
            "seeds": seeds,
            "test_acc_per_level": per_level,
            "test_acc_pooled_levels_1_to_L": {
                "sign_test_over_level_seed_pairs": sign_test(pruned.ravel()),
                "per_seed_mean_over_levels": pruned.mean(1).tolist(),
                **_stats(pruned.mean(1)),
                "t95_of_per_seed_means": t_interval(pruned.mean(1)),
            },
            "flips_from_init_per_level": [{"level": i, **_stats(fl[:, i]), "positive": int((fl[:, i] > 0).sum())}
                                          for i in range(fl.shape[1])],
        }
    return out


def table(s: dict, base: str = BASE) -> str:
    """A plain-text table: accuracy and flips (mean +- sd over seeds) per level and method, then LRR - X."""
    methods = sorted(s["methods"])
    lines = ["level density  " + "  ".join(f"{m + ' acc':>15} {m + ' flips':>15}" for m in methods)]
    for i, d in enumerate(s["density"]):
        row = [f"{i:5d} {d:7.4f}"]
        for m in methods:
            a, f = s["methods"][m]["test_acc"][i], s["methods"][m]["flips_from_init"][i]
            row.append(f"{a['mean']:.4f}+-{a['sd']:.4f} {f['mean']:.4f}+-{f['sd']:.4f}")
        lines.append("  ".join(row))
    for key, dd in s["differences"].items():
        lines.append(f"{key}: per level mean [t95] (positive/n)")
        for r in dd["test_acc_per_level"]:
            ci = "[{:+.4f}, {:+.4f}]".format(*r["t95"]) if r["t95"] else "-"
            lines.append(f"  level {r['level']:2d} density {r['density']:.4f}: {r['mean']:+.4f} {ci} "
                         f"({r['sign_test']['positive']}/{r['n']})")
        pool = dd["test_acc_pooled_levels_1_to_L"]
        st = pool["sign_test_over_level_seed_pairs"]
        lines.append(f"  pooled levels 1..L: {st['positive']} of {st['positive'] + st['negative'] + st['ties']} "
                     f"(level, seed) pairs positive; per-seed mean {pool['mean']:+.4f}, t95 {pool['t95_of_per_seed_means']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m deep.summary", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prefix", help="run folders are <prefix>-<method>-seed<k>")
    p.add_argument("--base", default=BASE, help="the method the others are compared with (default lrr)")
    p.add_argument("--out", type=Path, default=None, help="JSON output (default <prefix>-summary.json)")
    a = p.parse_args(argv)
    s = summarize(collect(a.prefix), a.base)
    out = a.out or Path(f"{a.prefix}-summary.json")
    out.write_text(json.dumps(s, indent=2))
    print(table(s, a.base))
    print(f"# written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
