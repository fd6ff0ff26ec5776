"""Iterative pruning on a real network, in the paper's vocabulary.

    python -m deep.run --dataset mnist1d --model cnn --method lrr --levels 10 --epochs 20
    python -m deep.run --dataset mnist-t10k --data-root ../shared/data/mnist-t10k --model lenet5 --method imp
    python -m deep.run --dataset cifar10 --data-root ~/data --model resnet18 --method lrr --levels 20 \\
        --epochs 150 --lr 0.1 --schedule cosine-warmup --device cuda
    python -m deep.run --preset cifar10-resnet18 --data-root ~/data --method lrr --device cuda   # Table 1
    python -m deep.run --preset cifar10-resnet18 ... --precision bf16 --channels-last --compile  # faster on GPUs
    python -m deep.run --preset imagenet-resnet50 --data-root ~/data --levels 5 --device cuda --workers 16
    python -m deep.run ... --out results/deep/my-run               # the same command continues after a crash
    torchrun --nproc_per_node=8 -m deep.run --dataset cifar10 ... --device cuda   # DistributedDataParallel

Writes ``--out`` (default ``results/deep/<dataset>-<model>-<method>-seed<seed>-<config hash>``, so two
different configurations never share a folder): run.json (the run's identity), checkpoint.pt after every
level, metrics.json (config, per-level density and accuracies, sign statistics) and signs.npz (the sign of
every prunable weight after every level, and at initialization).  ``--levels L`` means the dense network
(level 0) plus L pruned levels: L + 1 rows in metrics.json, the last at density keep^L.  The same command run
again continues an interrupted run or reuses a finished one; a folder holding another run is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch

from deep import cycles, data as dmod, models
from deep.augment import AUGMENTS
from deep.train import PRECISIONS, SCHEDULES, TrainConfig
from sim.core.folders import ResultsError
from theory.core.cli import Parser, fail, fraction, nonnegative_int, output_folder, positive_float, positive_int


# Table 1 of paper 000 (App. A.3): one preset per column; options given on the command line override them.
# From the text of A.3: the WR rewinding point is the end of the warm-up ("weights are rewound to their values
# after warmup in case of IMP (i.e. similar to WR)"), so the paper's IMP is our ``--method wr`` with these
# presets.  Not stated in the paper, our choice: the standard augmentation (random crops and flips; the
# random-resized crop for ImageNet); the number of levels, 20, which Table 1 does not give (for ImageNet
# pass a smaller --levels: every level is 90 epochs).
PRESETS = {
    "cifar10-resnet18": dict(dataset="cifar10", model="resnet18", epochs=150, lr=0.1, schedule="cosine-warmup",
                             batch=256, warmup_epochs=50, weight_decay=1e-4, momentum=0.9, levels=20,
                             rewind_epoch=50, augment="crop-flip"),
    "cifar100-resnet50": dict(dataset="cifar100", model="resnet50", epochs=150, lr=0.1, schedule="step-warmup",
                              batch=256, warmup_epochs=10, weight_decay=1e-3, momentum=0.9, levels=20,
                              rewind_epoch=10, augment="crop-flip"),
    "tinyimagenet-resnet50": dict(dataset="tinyimagenet", model="resnet50", epochs=150, lr=0.1,
                                  schedule="step-warmup", batch=256, warmup_epochs=50, weight_decay=1e-3, momentum=0.9,
                                  levels=20, rewind_epoch=50, augment="crop-flip"),
    "imagenet-resnet50": dict(dataset="imagenet", model="resnet50_imagenet", epochs=90, lr=0.1,
                              schedule="imagenet-step", batch=256, warmup_epochs=10, weight_decay=1e-4, momentum=0.9,
                              levels=20, rewind_epoch=10, augment="crop-flip"),
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default in its help line."""


def default_out(a: argparse.Namespace) -> Path:
    """results/deep/<dataset>-<model>-<method>-seed<seed>-<hash of every other option>: two different
    configurations never share a folder."""
    skip = {"out", "resume", "device", "workers", "dataset", "model", "method", "seed", "preset"}
    config = {k: v for k, v in sorted(vars(a).items()) if k not in skip}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path("results/deep") / f"{a.dataset}-{a.model}-{a.method}-seed{a.seed}-{digest}"


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="python -m deep.run", description=__doc__, formatter_class=_HelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="a column of the paper's Table 1 (explicit options override it)")
    p.add_argument("--dataset", choices=dmod.DATASETS, help="the data set (required unless a --preset names it)")
    p.add_argument("--data-root", default=None, help="folder holding the dataset in its standard layout")
    p.add_argument("--model", choices=models.MODELS, help="the network (required unless a --preset names it)")
    p.add_argument("--method", default="lrr", choices=cycles.METHODS,
                   help="imp: rewind to theta(0); wr: to the weights after --rewind-epoch; lrr: keep the trained "
                        "weights, restart the schedule; *-rand: balanced random masks")
    p.add_argument("--levels", type=nonnegative_int, default=5,
                   help="pruned levels after the dense one (level 0): L + 1 rows, the last at density keep^L")
    p.add_argument("--keep", type=positive_float, default=0.8, help="fraction of the remaining weights kept per level")
    p.add_argument("--scope", default="global", choices=["global", "layerwise"], help="rank weights over all layers or per layer")
    p.add_argument("--criterion", default="magnitude", choices=["magnitude", "snip", "synflow"], help="pruning score")
    p.add_argument("--rewind-epoch", type=nonnegative_int, default=1,
                   help="WR: rewind to the weights after this epoch (must be < --epochs)")
    p.add_argument("--bn-rewind", action="store_true", help="LRR: rewind the BatchNorm parameters only")
    p.add_argument("--mask-from", default=None, help="source run folder: train on its masks (transplant)")
    p.add_argument("--signs-from", default=None, help="source run folder: start each level with its signs")
    p.add_argument("--perturb-level", type=positive_int, default=None, help="flip signs at the start of this level")
    p.add_argument("--perturb-fraction", type=fraction, default=0.0, help="fraction of survivors flipped per layer")
    p.add_argument("--epochs", type=positive_int, default=10, help="training epochs per level")
    p.add_argument("--lr", type=positive_float, default=0.1, help="peak learning rate")
    p.add_argument("--momentum", type=fraction, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=fraction, default=5e-4, help="L2 weight decay")
    p.add_argument("--batch", type=positive_int, default=128, help="mini-batch size")
    p.add_argument("--schedule", default="cosine-warmup", choices=SCHEDULES, help="learning-rate schedule per level")
    p.add_argument("--warmup-epochs", type=nonnegative_int, default=1, help="linear warm-up epochs of the schedule")
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"], help="optimizer")
    p.add_argument("--augment", default="none", choices=list(AUGMENTS),
                   help="crop-flip: random crops and mirroring, on the device that holds the data")
    p.add_argument("--precision", default="fp32", choices=list(PRECISIONS), help="bf16: autocast (GPU speed)")
    p.add_argument("--channels-last", action="store_true", help="NHWC layout for images (GPU speed)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU speed)")
    p.add_argument("--workers", type=positive_int, default=8, help="ImageNet: JPEG-decoding worker processes")
    p.add_argument("--image-size", type=positive_int, default=224, help="ImageNet: crop size")
    p.add_argument("--n-train", type=positive_int, default=None,
                   help="use only the first N training examples (default: all)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:K")
    p.add_argument("--seed", type=int, default=0, help="seed of the initialization and the data order")
    p.add_argument("--out", type=output_folder, default=None,
                   help="results folder (default results/deep/<dataset>-<model>-<method>-seed<seed>-<config hash>)")
    p.add_argument("--resume", action="store_true",
                   help="continue or reuse this same run's folder (the default anyway; another run is refused)")
    if argv is None:
        argv = sys.argv[1:]
    pre = p.parse_args(argv)
    if pre.preset:  # preset values become defaults; anything given explicitly wins
        p.set_defaults(**PRESETS[pre.preset])
    a = p.parse_args(argv)
    if a.dataset is None or a.model is None:
        p.error("--dataset and --model are required (or a --preset)")
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda asked for, but torch sees no CUDA device here")
    if a.method == "wr" and a.rewind_epoch >= a.epochs:
        p.error(f"--rewind-epoch {a.rewind_epoch} must be smaller than --epochs {a.epochs} for wr "
                f"(there would be no rewinding point, and WR would silently become IMP)")
    if a.perturb_level is not None and a.perturb_level > a.levels:
        p.error(f"--perturb-level {a.perturb_level} is not a pruning level (1..{a.levels})")
    return a


def main(argv=None) -> int:
    """The command line; a user error (missing data, a folder of another run, bad option) is one line, exit 2."""
    a = parse_args(argv)
    try:
        return _main(a)
    except (FileNotFoundError, ValueError, ResultsError) as exc:
        return fail("python -m deep.run", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _main(a: argparse.Namespace) -> int:
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun --nproc_per_node=N -m deep.run ...
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if a.device.startswith("cuda") else "gloo")
        if a.device.startswith("cuda"):
            a.device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
            torch.cuda.set_device(a.device)
    d = dmod.load(a.dataset, a.data_root, seed=a.seed, image_size=a.image_size, workers=a.workers)
    if a.n_train:
        d = d.head(a.n_train)
    d = d.to(a.device)
    in_shape = d.in_shape
    tcfg = TrainConfig(epochs=a.epochs, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay, batch=a.batch,
                       schedule=a.schedule, warmup_epochs=a.warmup_epochs, optimizer=a.optimizer,
                       augment=a.augment, precision=a.precision, channels_last=a.channels_last, compile=a.compile)
    ccfg = cycles.CycleConfig(method=a.method, levels=a.levels, keep=a.keep, scope=a.scope,
                              rewind_epoch=a.rewind_epoch, bn_rewind=a.bn_rewind, mask_from=a.mask_from,
                              signs_from=a.signs_from, perturb_level=a.perturb_level,
                              perturb_fraction=a.perturb_fraction, criterion=a.criterion)
    out = a.out or default_out(a)
    print(f"# {d.note}; model {a.model}; {a.method}, {a.levels} levels keeping {a.keep:.0%} each; out {out}")
    res = cycles.run(lambda: models.build(a.model, in_shape, d.classes), d, tcfg, ccfg, out, seed=a.seed,
                     resume=a.resume, meta={"model": a.model, "n_train": d.n_train})
    print(f"flips from the initial signs per level: {res['signs']['flips_from_init']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
