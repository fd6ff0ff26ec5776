"""Toy data and a toy network for the deep/ tests: seconds on a CPU, separable classes (class k shifted by k)."""

import torch

from deep import data as dmod, models


def tiny_data(n=96, shape=(1, 8, 8), classes=3, seed=0) -> dmod.Data:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.randn(n, *shape, generator=g) + y.view(-1, *([1] * len(shape))).float()
    return dmod.Data("tiny", x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4:], y[n * 3 // 4:], classes, "tiny")


def cnn():
    return models.build("cnn", (1, 8, 8), 3)
