"""Iterative pruning on real networks (paper 000 Sec. 3): IMP, WR, LRR and their variants, checkpointed after
every level.

Level 0 trains the dense network from theta(0) (Kaiming normal).  Each level l = 1..L takes its mask from the
mask source (``mask``, :mod:`deep.mask_source`: magnitude pruning keeping ``keep`` = 80 % of the remaining
weights, global or layer-wise; SNIP or Synflow scores (Fig. 16); a balanced random mask; another run's mask),
computed from the previous level's trained weights, then retrains with the full schedule from the state the
rewinding rule gives (``rewind``, :mod:`deep.rewind`: theta(0), the weights after ``rewind_epoch`` epochs,
the trained weights themselves, or those with BatchNorm reset).  The paper's methods are pairs of the two
(:mod:`deep.methods`): IMP = (init, magnitude), WR = (epoch, magnitude), LRR = (none, magnitude),
IMP-rand / LRR-rand = (init / none, random).

* ``signs_from`` starts every level with another run's signs at the same level and the method's own
  magnitudes (IMP init + LRR mask + LRR signs: rewind init, mask and signs from the LRR run);
* ``perturb_level`` / ``perturb_fraction``: flip that fraction of the surviving signs in every layer at the
  start of that level, then continue (Figs. 6, 7).

After every level, ``out/checkpoint.pt`` holds a :class:`deep.checkpoint.Checkpoint` (model, mask, theta(0),
the rewinding point, sign history, metrics), written atomically; the same run started again continues from
it, losing at most the level in flight.  Each level's data order is seeded by (seed, level), so a resumed run
is identical to an uninterrupted one.  ``out/metrics.json`` and ``out/signs.npz`` are the results as data.

The folder follows the toolkit's results-folder contract (:mod:`sim.core.folders`, as the sweeps of ``sim/``):
``out/run.json`` names the run (its identity: training and cycle configuration, seed, dataset, model) from
the start; the folder is locked for the run's lifetime (a second run on it is refused); a folder holding
another run, or anything that is not a run folder, is refused with the fields that differ; a finished run
is reused, never overwritten; every file is written atomically.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from deep import masks as mk
from deep import methods, signs, transplant
from deep.checkpoint import Checkpoint
from deep.data import Data
from deep.mask_source import MASK_SOURCES, SCORED, Pruning, next_mask
from deep.rewind import REWINDS, start_state
from deep.train import TrainConfig, dist_info, train
from sim.core.config import as_dict, param
from sim.core.folders import (ResultsError, atomic_write_bytes, atomic_write_json, canon, folder_lock, occupied,
                              require_same)
from sim.core.provenance import git_commit, now, versions


@dataclass(frozen=True)
class CycleConfig:
    """The pruning cycles: what each level rewinds to, where its mask comes from, how much it keeps."""

    rewind: str = param("none", "what each level starts from: init (theta(0), IMP), epoch (the weights after "
                                "--rewind-epoch epochs, WR), none (the trained weights, LRR), bn (LRR with "
                                "BatchNorm reset to theta(0))")
    mask: str = param("magnitude", "where each level's mask comes from: magnitude, snip, synflow (scores), random "
                                   "(balanced over the layers), run (another run's, --mask-from)")
    levels: int = param(5, "pruned levels after the dense one (level 0): L + 1 rows, the last at density keep^L")
    keep: float = param(0.8, "fraction of the remaining weights kept per level")
    scope: str = param("global", "rank weights over all layers (global) or per layer (layerwise)")
    rewind_epoch: int = param(1, "WR: rewind to the weights after this epoch of level 0 (must be < --epochs)")
    mask_from: str | None = param(None, "source run folder: train on its mask at every level (transplant)")
    signs_from: str | None = param(None, "source run folder: start each level with its signs (magnitudes kept)")
    perturb_level: int | None = param(None, "flip signs at the start of this level ...")
    perturb_fraction: float = param(0.0, "... this fraction of the survivors in every layer")

    def __post_init__(self):
        if self.rewind not in REWINDS:
            raise ValueError(f"rewind must be one of {', '.join(REWINDS)}, got {self.rewind!r}")
        if self.mask not in MASK_SOURCES:
            raise ValueError(f"mask must be one of {', '.join(MASK_SOURCES)}, got {self.mask!r}")
        if not isinstance(self.levels, int) or self.levels < 0:
            raise ValueError(f"levels must be an integer >= 0, got {self.levels!r}")
        mk.check_keep(self.keep)
        mk.check_scope(self.scope)
        if not isinstance(self.rewind_epoch, int) or self.rewind_epoch < 0:
            raise ValueError(f"rewind_epoch must be an integer >= 0, got {self.rewind_epoch!r}")
        if not 0 <= self.perturb_fraction <= 1:
            raise ValueError(f"perturb_fraction must be in [0, 1], got {self.perturb_fraction!r}")
        if self.perturb_level is not None and not 1 <= self.perturb_level <= self.levels:
            raise ValueError(f"perturb_level {self.perturb_level!r} is not a pruning level (1..{self.levels})")
        if self.mask in SCORED and self.scope != "global":
            raise ValueError(f"mask {self.mask} ranks all layers together: use scope 'global'")
        if (self.mask == "run") != bool(self.mask_from):
            raise ValueError("mask_from (a source run folder) goes with mask 'run' and only with it; got mask "
                             f"{self.mask!r}, mask_from {self.mask_from!r}")

    @property
    def method(self) -> str:
        """The paper's name of the (rewind, mask) pair (:mod:`deep.methods`)."""
        return methods.label(self.rewind, self.mask)

    @classmethod
    def of(cls, method: str, **kw) -> "CycleConfig":
        """The configuration of a named method (imp, wr, lrr, imp-rand, lrr-rand) with the other fields ``kw``."""
        rewind, mask = methods.choices(method)
        return cls(rewind=rewind, mask=mask, **kw)


def check_rewind_point(cfg: CycleConfig, tcfg: TrainConfig) -> None:
    """WR needs a rewinding point inside level 0's training."""
    if cfg.rewind == "epoch" and cfg.rewind_epoch >= tcfg.epochs:
        raise ValueError(f"rewind_epoch {cfg.rewind_epoch} must be smaller than epochs {tcfg.epochs} for WR "
                         f"(rewind epoch): otherwise there is no rewinding point and WR would silently become IMP")


def identity(tcfg: TrainConfig, cfg: CycleConfig, seed: int, dataset: str, meta: dict | None = None) -> dict:
    """A run's identity as canonical plain data (what run.json, checkpoint.pt and metrics.json record)."""
    return json.loads(canon({"train": as_dict(tcfg), "cycle": as_dict(cfg), "seed": seed, "dataset": dataset,
                             **(meta or {})}))


def identity_record(ident: dict) -> dict:
    """An identity read back from a file, its cycle part with the two fields rewind and mask
    (:func:`deep.methods.cycle_record`)."""
    if isinstance(ident, dict) and isinstance(ident.get("cycle"), dict):
        return ident | {"cycle": methods.cycle_record(ident["cycle"])}
    return ident


def _bn_keys(model: nn.Module) -> list[str]:
    keys = []
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            keys += [f"{name}.{k}" for k in m.state_dict()]
    return keys


def flat_signs(model: nn.Module, masks: dict[str, torch.Tensor]) -> np.ndarray:
    w = mk.prunable(model)
    return np.concatenate([(torch.sign(w[k].detach()) * masks[k]).to(torch.int8).cpu().numpy().ravel() for k in w])


def _broadcast_masks(masks: mk.Mask) -> mk.Mask:
    """Under torch.distributed: every rank takes rank 0's mask (they agree already when the weights do; this
    makes it a guarantee)."""
    world, _ = dist_info()
    if world == 1:
        return masks
    import torch.distributed as dist

    out = {}
    for k, m in masks.items():
        t = m.to(torch.uint8)
        dist.broadcast(t, src=0)
        out[k] = t.bool()
    return mk.Mask(out)


def _save(path: Path, ck: Checkpoint) -> None:
    if dist_info()[1] != 0:  # only rank 0 writes
        return
    ck.save(path)


MANIFEST = "run.json"


def _adopt_legacy(out: Path, ident: dict) -> dict | None:
    """A run folder written before run folders had a manifest: adopted (its manifest written) when its
    checkpoint or metrics name this same run; None when it holds neither."""
    found, finished = None, None
    if (out / "metrics.json").is_file():
        try:
            found, finished = json.loads((out / "metrics.json").read_text())["config"], "before run.json existed"
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ResultsError(f"corrupt {out / 'metrics.json'}; move it away") from None
    elif (out / "checkpoint.pt").is_file():
        found = Checkpoint.load(out / "checkpoint.pt", "cpu").ident
    if found is None:
        return None
    want = json.loads(canon(ident))
    require_same(identity_record(found), want, f"{out} holds a different run")
    manifest = {"ident": want, "created": "before run.json existed", "finished": finished, "adopted": now()}
    atomic_write_json(out / MANIFEST, manifest)
    return manifest


def check_folder(out: Path, ident: dict) -> dict | None:
    """The contract's check of an existing folder: None when ``out`` is empty (a new run); the manifest when
    it holds this same run; otherwise a :class:`ResultsError` (another run, a corrupt manifest, not a run
    folder)."""
    if not occupied(out):
        return None
    mpath = out / MANIFEST
    if not mpath.is_file():
        legacy = _adopt_legacy(out, ident)
        if legacy is None:
            raise ResultsError(f"{out} is not a results folder of deep.run (no {MANIFEST}); refusing to write into it "
                               f"(choose another --out)")
        return legacy
    try:
        manifest = json.loads(mpath.read_text())
        found = manifest["ident"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ResultsError(f"corrupt manifest {mpath}: {exc}") from None
    want = json.loads(canon(ident))
    require_same(identity_record(found), want, f"{out} holds a different run")
    return manifest


def run(model_fn: Callable[[], nn.Module], data: Data, tcfg: TrainConfig, cfg: CycleConfig, out: Path,
        seed: int = 0, log=print, stop_after: int | None = None, meta: dict | None = None) -> dict:
    """Run, continue or reuse the cycles in ``out``; returns the metrics (and the trained ``model`` when it
    trained).  ``meta`` (e.g. the model name) is part of the run's identity.  ``stop_after`` (tests): stop
    after that level, as a crash would.  The same run is always continued, another one always refused."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"--out {out} is a file, not a folder")
    check_rewind_point(cfg, tcfg)
    ident = identity(tcfg, cfg, seed, data.name, meta)
    if dist_info()[1] != 0:  # only rank 0 owns the folder
        return _run(model_fn, data, tcfg, cfg, out, seed, ident, log, stop_after)
    with folder_lock(out):
        return _run(model_fn, data, tcfg, cfg, out, seed, ident, log, stop_after)


def _run(model_fn, data, tcfg: TrainConfig, cfg: CycleConfig, out: Path, seed: int, ident: dict, log,
         stop_after) -> dict:
    ckpt_path = out / "checkpoint.pt"
    device = data.device
    manifest = check_folder(out, ident) if dist_info()[1] == 0 else None
    if manifest is not None and manifest.get("finished") and (out / "metrics.json").is_file():
        log(f"{out} holds this run, finished {manifest['finished']}: reusing its results (nothing recomputed)")
        return json.loads((out / "metrics.json").read_text())
    if manifest is None and dist_info()[1] == 0:
        atomic_write_json(out / MANIFEST, {"ident": ident, "created": now(), "git_commit": git_commit(),
                                           "versions": versions(), "finished": None})
    exists = ckpt_path.exists()
    if dist_info()[0] > 1:  # every rank looks before rank 0 writes
        import torch.distributed as dist

        dist.barrier()
    if exists:
        ck = Checkpoint.load(ckpt_path, device)
        require_same(identity_record(ck.ident), ident, f"{ckpt_path} belongs to another run", "move it away")
        log(f"{out}: continuing this run after level {ck.level}")
        torch.manual_seed(seed)
        model = model_fn().to(device)
        model.load_state_dict(ck.state)
        mask, theta0, rewind_point = ck.mask, ck.theta0, ck.rewind_point
        history, metrics, init_signs, first = ck.history, ck.metrics, ck.init_signs, ck.level + 1
    else:
        torch.manual_seed(seed)
        model = model_fn().to(device)
        mask = mk.Mask.full(model)
        theta0 = copy.deepcopy(model.state_dict())
        init_signs = flat_signs(model, mask)
        res = train(model, data, mask, tcfg, seed=seed * 1000, snapshot_epoch=cfg.rewind_epoch)
        rewind_point = res.pop("snapshot") or copy.deepcopy(theta0)
        metrics = [{"level": 0, "density": 1.0, **res}]
        history = [flat_signs(model, mask)]
        first = 1
        log(f"level 0  density 1.0000  test acc {res['test_acc']:.4f}")
        _save(ckpt_path, Checkpoint(ident, 0, model.state_dict(), mask, theta0, rewind_point, history, metrics,
                                    init_signs))
        if stop_after == 0:
            return {"metrics": metrics}
    bn_keys = _bn_keys(model)
    gen = torch.Generator()
    src_mask = transplant.load_history(cfg.mask_from) if cfg.mask_from else None
    src_sign = transplant.load_history(cfg.signs_from) if cfg.signs_from else None
    for level in range(first, cfg.levels + 1):
        gen.manual_seed(seed * 1000 + level)
        mask = next_mask(cfg.mask, Pruning(model, mask, level, cfg.keep, cfg.scope, gen, data, src_mask))
        mask = _broadcast_masks(mask)
        model.load_state_dict(start_state(cfg.rewind, model.state_dict(), theta0, rewind_point, bn_keys))
        mask.apply(model)
        if src_sign is not None:
            if level >= src_sign.shape[0]:
                raise ValueError(f"the sign source has levels 0..{src_sign.shape[0] - 1}; level {level} asked for")
            transplant.set_signs(model, src_sign[level])
        if cfg.perturb_level == level:
            transplant.perturb_signs(model, mask, cfg.perturb_fraction, gen)
        res = train(model, data, mask, tcfg, seed=seed * 1000 + level)
        res.pop("snapshot")
        metrics.append({"level": level, "density": mask.density, **res})
        history.append(flat_signs(model, mask))
        log(f"level {level}  density {metrics[-1]['density']:.4f}  test acc {res['test_acc']:.4f}")
        _save(ckpt_path, Checkpoint(ident, level, model.state_dict(), mask, theta0, rewind_point, history, metrics,
                                    init_signs))
        if stop_after == level:
            return {"metrics": metrics}
    hist = np.stack(history)
    if dist_info()[1] != 0:
        return {"metrics": metrics, "model": model}
    buf = io.BytesIO()
    np.savez_compressed(buf, history=hist, init=init_signs)
    atomic_write_bytes(out / "signs.npz", buf.getvalue())
    result = {"config": ident, "data_note": data.note, "versions": versions(), "git_commit": git_commit(),
              "device": str(device), "metrics": metrics, "signs": signs.summary(hist, init_signs)}
    atomic_write_json(out / "metrics.json", result)
    manifest = json.loads((out / MANIFEST).read_text())
    atomic_write_json(out / MANIFEST, manifest | {"finished": now()})
    return result | {"model": model}
