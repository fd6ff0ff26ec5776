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

Every option but ``--preset``, ``--method``, ``--bn-rewind``, ``--criterion`` and ``--resume`` is a field of
:class:`RunConfig` (the run), :class:`deep.train.TrainConfig` (training), :class:`deep.cycles.CycleConfig`
(the cycles) or :class:`Machine` (where it runs), with that field's default and help.  ``--method NAME``
sets ``--rewind`` and ``--mask`` together (:mod:`deep.methods`: imp = init + magnitude, wr = epoch +
magnitude, lrr = none + magnitude, imp-rand / lrr-rand = init / none + random); ``--bn-rewind`` is
``--rewind bn``; ``--criterion snip|synflow`` is ``--mask snip|synflow``; ``--mask-from`` implies
``--mask run``.

Writes ``--out`` (default ``results/deep/<dataset>-<model>-<method>-seed<seed>-<config hash>``, the hash of
the whole :class:`RunConfig`, so two different configurations never share a folder): run.json (the run's
identity), checkpoint.pt after every level, metrics.json (config, per-level density and accuracies, sign statistics) and signs.npz (the sign of
every prunable weight after every level, and at initialization).  ``--levels L`` means the dense network
(level 0) plus L pruned levels: L + 1 rows in metrics.json, the last at density keep^L.  The same command run
again continues an interrupted run or reuses a finished one; a folder holding another run is refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from deep import cycles, data as dmod, methods, models
from deep.cycles import CycleConfig
from deep.train import TrainConfig
from sim.core.config import add_options, as_dict, config_hash, given, param
from sim.core.folders import ResultsError
from theory.core.cli import Parser, fail, output_folder


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


@dataclass(frozen=True)
class RunConfig:
    """One run: the data, the network, the seed, how each level trains and the pruning cycles."""

    dataset: str | None = param(None, f"the data set: {', '.join(dmod.DATASETS)} (required unless a --preset "
                                      f"names it)")
    model: str | None = param(None, f"the network: {', '.join(models.MODELS)} (required unless a --preset names it)")
    data_root: str | None = param(None, "folder holding the dataset in its standard layout")
    n_train: int | None = param(None, "use only the first N training examples (None: all of them)")
    image_size: int = param(224, "ImageNet: crop size")
    seed: int = param(0, "seed of the initialization and the data order")
    train: TrainConfig = field(default_factory=TrainConfig)
    cycle: CycleConfig = field(default_factory=CycleConfig)

    def __post_init__(self):
        if self.dataset not in dmod.DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(dmod.DATASETS)}, got {self.dataset!r}")
        if self.model not in models.MODELS:
            raise ValueError(f"model must be one of {', '.join(models.MODELS)}, got {self.model!r}")
        if self.n_train is not None and not (isinstance(self.n_train, int) and self.n_train >= 1):
            raise ValueError(f"n_train must be an integer >= 1, got {self.n_train!r}")
        if not (isinstance(self.image_size, int) and self.image_size >= 1):
            raise ValueError(f"image_size must be an integer >= 1, got {self.image_size!r}")
        cycles.check_rewind_point(self.cycle, self.train)

    def folder(self) -> Path:
        """results/deep/<dataset>-<model>-<method>-seed<seed>-<hash of the whole configuration>."""
        return Path("results/deep") / (f"{self.dataset}-{self.model}-{self.cycle.method}-seed{self.seed}-"
                                       f"{config_hash(as_dict(self))}")


@dataclass(frozen=True)
class Machine:
    """Where a run runs and writes (not part of its identity)."""

    device: str = param("cpu", "cpu, cuda or cuda:K")
    workers: int = param(8, "ImageNet: JPEG-decoding worker processes")
    out: str | None = param(None, "results folder (default results/deep/<dataset>-<model>-<method>-seed<seed>-"
                                  "<config hash>)")

    def __post_init__(self):
        if not (isinstance(self.workers, int) and self.workers >= 0):
            raise ValueError(f"workers must be an integer >= 0, got {self.workers!r}")


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _option(message: str) -> str:
    """A config error as the command line says it: a leading field name becomes its option (lr -> --lr)."""
    first, _, rest = message.partition(" ")
    if first in _fields(RunConfig) | _fields(TrainConfig) | _fields(CycleConfig) | _fields(Machine):
        return f"--{first.replace('_', '-')} {rest}"
    return message


def _cycle_choices(a: argparse.Namespace) -> dict:
    """--rewind / --mask from --method, --bn-rewind, --criterion and --mask-from (the shorthands)."""
    chosen = {k: v for k, v in given(CycleConfig, a).items() if k in ("rewind", "mask")}
    if a.method and chosen:
        raise ValueError(f"--method sets --rewind and --mask; give either --method or --{'/--'.join(chosen)}")
    if a.criterion != "magnitude" and "mask" in chosen:
        raise ValueError("--criterion sets --mask; give one of them")
    defaults = CycleConfig()
    rewind, mask = methods.choices(a.method) if a.method else (chosen.get("rewind", defaults.rewind),
                                                                 chosen.get("mask", defaults.mask))
    if a.bn_rewind:
        if rewind != "none":
            raise ValueError("--bn-rewind applies to LRR only (IMP/WR rewind every parameter anyway)")
        rewind = "bn"
    if a.criterion != "magnitude" and mask == "magnitude":
        mask = a.criterion
    if given(CycleConfig, a).get("mask_from") and "mask" not in chosen:
        if mask == "random":
            raise ValueError("--method imp-rand / lrr-rand cannot also take its mask from another run (--mask-from)")
        mask = "run"
    return {"rewind": rewind, "mask": mask}


def build(a: argparse.Namespace) -> tuple[RunConfig, Machine]:
    """The run and the machine from the parsed options: the preset, then the shorthands, then every option
    given explicitly."""
    preset = PRESETS[a.preset] if a.preset else {}
    part = {cls: {k: v for k, v in preset.items() if k in _fields(cls)} for cls in (RunConfig, TrainConfig,
                                                                                    CycleConfig)}
    tcfg = TrainConfig(**(part[TrainConfig] | given(TrainConfig, a)))
    ccfg = CycleConfig(**(part[CycleConfig] | given(CycleConfig, a) | _cycle_choices(a)))
    run = RunConfig(**(part[RunConfig] | given(RunConfig, a)), train=tcfg, cycle=ccfg)
    return run, Machine(**given(Machine, a))


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m deep.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                   help="a column of the paper's Table 1 (explicit options override it)")
    p.add_argument("--method", choices=list(methods.METHODS), default=None,
                   help="sets --rewind and --mask: imp (init, magnitude), wr (epoch, magnitude), lrr (none, "
                        "magnitude), imp-rand / lrr-rand (init / none, random); without it: --rewind and --mask")
    p.add_argument("--bn-rewind", action="store_true", help="LRR: rewind the BatchNorm parameters only (--rewind bn)")
    p.add_argument("--criterion", default="magnitude", choices=["magnitude", "snip", "synflow"],
                   help="pruning score (snip / synflow: --mask snip / synflow)")
    p.add_argument("--resume", action="store_true",
                   help="continue or reuse this same run's folder (what the same command always does; another "
                        "run is refused)")
    add_options(p, RunConfig, title="the run")
    add_options(p, CycleConfig, title="pruning cycles")
    add_options(p, TrainConfig, title="training (every level)")
    add_options(p, Machine, title="where it runs")
    return p


def parse_args(argv=None) -> tuple[RunConfig, Machine]:
    p = parser()
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    preset = PRESETS[a.preset] if a.preset else {}
    if (a.cfg_dataset or preset.get("dataset")) is None or (a.cfg_model or preset.get("model")) is None:
        p.error("--dataset and --model are required (or a --preset)")
    try:
        run, machine = build(a)
        if machine.out is not None:
            output_folder(machine.out)
    except argparse.ArgumentTypeError as exc:
        p.error(f"--out {exc}")
    except ValueError as exc:
        p.error(_option(str(exc)))
    if machine.device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda asked for, but torch sees no CUDA device here")
    return run, machine


def main(argv=None) -> int:
    """The command line; a user error (missing data, a folder of another run, bad option) is one line, exit 2."""
    run, machine = parse_args(argv)
    try:
        return _main(run, machine)
    except (FileNotFoundError, ValueError, ResultsError) as exc:
        return fail("python -m deep.run", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def _main(run: RunConfig, machine: Machine) -> int:
    import os

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun --nproc_per_node=N -m deep.run ...
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if machine.device.startswith("cuda") else "gloo")
        if machine.device.startswith("cuda"):
            machine = dataclasses.replace(machine, device=f"cuda:{os.environ.get('LOCAL_RANK', '0')}")
            torch.cuda.set_device(machine.device)
    d = dmod.load(run.dataset, run.data_root, seed=run.seed, image_size=run.image_size, workers=machine.workers)
    if run.n_train:
        d = d.head(run.n_train)
    d = d.to(machine.device)
    in_shape = d.in_shape
    out = Path(machine.out) if machine.out else run.folder()
    c = run.cycle
    print(f"# {d.note}; model {run.model}; {c.method} (rewind {c.rewind}, mask {c.mask}), {c.levels} levels keeping "
          f"{c.keep:.0%} each; out {out}")
    res = cycles.run(lambda: models.build(run.model, in_shape, d.classes), d, run.train, c, out, seed=run.seed,
                     meta={"model": run.model, "n_train": d.n_train})
    print(f"flips from the initial signs per level: {res['signs']['flips_from_init']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
