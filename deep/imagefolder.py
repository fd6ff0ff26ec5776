"""ImageNet (ILSVRC-2012) in the ImageFolder layout, streamed from disk: it cannot be held in memory.

Layout under the data root: ``imagenet/train/<wnid>/*.JPEG`` and ``imagenet/val/<wnid>/*.JPEG`` (the
validation images sorted into one folder per class, as torchvision's ImageFolder expects; the validation set
is the test set).  Classes are the sorted training folders; every validation folder must be one of them.

Transforms (the standard ResNet-50 recipe, done with Pillow in DataLoader worker processes):

* training: random-resized crop (scale 0.08-1, aspect 3/4-4/3, 10 attempts, then a centre crop) to
  ``size`` x ``size`` and a left-right flip with probability 1/2;
* evaluation: resize the shorter side to round(size x 256 / 224), centre crop ``size`` x ``size``.

Workers return uint8 tensors; the training device converts and normalizes them (ImageNet mean and standard
deviation), so four times fewer bytes cross to the GPU.  Every example's crop is drawn from its own seed,
derived from the level's generator, so a run is reproducible whatever the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
EXTENSIONS = (".jpeg", ".jpg", ".png")


def random_resized_crop(img, size: int, rng: np.random.Generator, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    from PIL import Image

    width, height = img.size
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top, left = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
            return img.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))
    # fallback: the largest centre crop with the aspect ratio clamped to the allowed range
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif aspect > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    top, left = (height - h) // 2, (width - w) // 2
    return img.resize((size, size), Image.BILINEAR, box=(left, top, left + w, top + h))


def center_crop(img, size: int):
    from PIL import Image

    short = round(size * 256 / 224)
    width, height = img.size
    scale = short / min(width, height)
    img = img.resize((max(size, round(width * scale)), max(size, round(height * scale))), Image.BILINEAR)
    width, height = img.size
    left, top = (width - size) // 2, (height - size) // 2
    return img.crop((left, top, left + size, top + size))


class _Files(torch.utils.data.Dataset):
    """Items are (index, seed) pairs: seed < 0 means the evaluation transform."""

    def __init__(self, items: list[tuple[str, int]], size: int):
        self.items, self.size = items, size

    def __len__(self):
        return len(self.items)

    def __getitem__(self, key):
        from PIL import Image

        index, seed = key
        path, label = self.items[index]
        with Image.open(path) as im:
            im = im.convert("RGB")
            if seed >= 0:
                rng = np.random.default_rng(seed)
                im = random_resized_crop(im, self.size, rng)
                if rng.random() < 0.5:
                    im = im.transpose(Image.FLIP_LEFT_RIGHT)
            else:
                im = center_crop(im, self.size)
            arr = np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).copy()
        return torch.from_numpy(arr), label


@dataclass
class ImageFolderData:
    name: str
    train_items: list
    test_items: list
    classes: int
    size: int = 224
    workers: int = 8
    note: str = ""
    device_: str = "cpu"
    train_eval_max: int = 10000  # train accuracy on the first N (shuffled) training images, not all 1.28M

    @property
    def device(self) -> torch.device:
        return torch.device(self.device_)

    @property
    def n_train(self) -> int:
        return len(self.train_items)

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (3, self.size, self.size)

    def to(self, device) -> "ImageFolderData":
        return replace(self, device_=str(device))

    def head(self, n_train: int) -> "ImageFolderData":
        if not 1 <= n_train <= self.n_train:
            raise ValueError(f"n_train must be between 1 and {self.n_train} for {self.name}, got {n_train}")
        return replace(self, train_items=self.train_items[:n_train],
                       note=f"{self.note}; first {n_train} training images (shuffled order)")

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        dev = self.device
        x = x.to(dev, non_blocking=True).float().div_(255)
        mean = torch.tensor(MEAN, device=dev).view(1, 3, 1, 1)
        std = torch.tensor(STD, device=dev).view(1, 3, 1, 1)
        return (x - mean) / std

    def _batches(self, items, batches):
        loader = torch.utils.data.DataLoader(_Files(items, self.size), batch_sampler=batches,
                                             num_workers=self.workers, pin_memory=self.device.type == "cuda",
                                             prefetch_factor=4 if self.workers else None)
        for x, y in loader:
            yield self._normalize(x), y.to(self.device, non_blocking=True)

    def train_batches(self, perm: torch.Tensor, batch: int, augment: str = "crop-flip",
                      gen: torch.Generator | None = None, rank: int = 0, world: int = 1):
        """``augment`` other than ``none`` means the random-resized-crop training transform."""
        perm = perm.cpu()
        if augment != "none":
            g = gen if gen is not None else torch.Generator().manual_seed(0)
            seeds = torch.randint(0, 2 ** 31 - 1, (len(perm),), generator=g)
        else:
            seeds = torch.full((len(perm),), -1)
        batches = [list(zip(perm[i:i + batch][rank::world].tolist(), seeds[i:i + batch][rank::world].tolist()))
                   for i in range(0, len(perm), batch)]
        yield from self._batches(self.train_items, batches)

    def eval_batches(self, split: str, batch: int = 256):
        items = self.test_items if split == "test" else self.train_items[:self.train_eval_max]
        yield from self._batches(items, [[(i, -1) for i in range(j, min(j + batch, len(items)))]
                                         for j in range(0, len(items), batch)])

    def probe(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        items = self.train_items[:n]
        return next(self._batches(items, [[(i, -1) for i in range(len(items))]]))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTENSIONS)


def load_imagenet(root: Path, seed: int = 0, size: int = 224, workers: int = 8) -> ImageFolderData:
    base = root / "imagenet"
    layout = "imagenet/train/<wnid>/*.JPEG and imagenet/val/<wnid>/*.JPEG (validation images sorted into class folders)"
    missing = [str(p.relative_to(root)) for p in (base / "train", base / "val") if not p.is_dir()]
    if missing:
        raise FileNotFoundError(f"{root} lacks {', '.join(missing)}: dataset 'imagenet' expects {layout}")
    wnids = sorted(p.name for p in (base / "train").iterdir() if p.is_dir())
    if not wnids:
        raise FileNotFoundError(f"{base / 'train'} has no class folders: dataset 'imagenet' expects {layout}")
    index = {w: i for i, w in enumerate(wnids)}
    foreign = sorted(p.name for p in (base / "val").iterdir() if p.is_dir() and p.name not in index)
    if foreign:
        raise ValueError(f"{base / 'val'} has class folders missing from train/: {', '.join(foreign[:5])}")
    train = [(str(p), index[w]) for w in wnids for p in _images(base / "train" / w)]
    test = [(str(p), index[p.parent.name]) for w in wnids if (base / "val" / w).is_dir()
            for p in _images(base / "val" / w)]
    if not train or not test:
        raise FileNotFoundError(f"{base}: no training or validation images found; expected {layout}")
    order = np.random.default_rng(seed).permutation(len(train))
    train = [train[i] for i in order]
    return ImageFolderData("imagenet", train, test, len(wnids), size=size, workers=workers,
                           note=f"ImageNet (ImageFolder layout) {len(train)}/{len(test)}, {size} x {size} crops")
