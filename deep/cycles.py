"""Iterative pruning on real networks (paper 000 Sec. 3): IMP, WR, LRR, with BN rewinding and random
balanced masks, checkpointed after every level.

Level 0 trains the dense network from theta(0) (Kaiming normal).  Each level l = 1..L prunes by magnitude
(keeping ``keep`` = 80 % of the remaining weights, global or layer-wise) from the level's trained weights,
then retrains with the full schedule from:

* ``imp``: theta(0) on the mask (rewinding to initialization, IMP proper);
* ``wr``: the weights after ``rewind_epoch`` epochs of dense training (weight rewinding);
* ``lrr``: the trained weights themselves (learning-rate rewinding: only the schedule restarts);
  ``bn_rewind`` also resets the BatchNorm parameters and statistics to theta(0)'s;
* ``imp-rand`` / ``lrr-rand``: as imp / lrr, but each level's mask is a fresh random mask with the same number
  of weights, spread equally over the layers (balanced layer-wise sparsity);
* transplants (:mod:`deep.transplant`): ``mask_from`` takes every level's mask from another run (IMP on the LRR
  mask, LRR on the IMP mask); ``signs_from`` starts every level with that run's signs at the same level and the
  method's own magnitudes (IMP init + LRR mask + LRR signs: method imp, mask_from and signs_from the LRR run);
* ``criterion``: ``snip`` or ``synflow`` scores instead of magnitudes (:mod:`deep.criteria`, Fig. 16), with
  IMP-style (imp) or LRR-style (lrr) training;
* ``perturb_level`` / ``perturb_fraction``: flip that fraction of the surviving signs in every layer at the
  start of that level, then continue (Figs. 6, 7).

After every level, ``out/checkpoint.pt`` holds everything needed to continue (model, masks, theta(0), the
rewinding point, sign history, metrics), written atomically; the same run started again continues from it,
losing at most the level in flight.  Each level's data order is seeded by (seed, level), so a resumed run is
identical to an uninterrupted one.  ``out/metrics.json`` and ``out/signs.npz`` are the results as data.

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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from deep import masks as mk
from deep import criteria, signs, transplant
from deep.data import Data
from deep.train import TrainConfig, dist_info, train
from sim.core.folders import (ResultsError, atomic_write_bytes, atomic_write_json, canon, folder_lock, occupied,
                         require_same)

METHODS = ("imp", "wr", "lrr", "imp-rand", "lrr-rand")


@dataclass(frozen=True)
class CycleConfig:
    method: str = "lrr"
    levels: int = 5
    keep: float = 0.8
    scope: str = "global"
    rewind_epoch: int = 1
    bn_rewind: bool = False
    mask_from: str | None = None  # a source run folder: use its mask at every level (transplant)
    signs_from: str | None = None  # a source run folder: start each level with its signs (magnitudes kept)
    perturb_level: int | None = None  # flip signs at the start of this level ...
    perturb_fraction: float = 0.0  # ... this fraction of the survivors in every layer
    criterion: str = "magnitude"  # or "snip", "synflow" (deep.criteria; always global)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; available: {', '.join(METHODS)}")
        if not isinstance(self.levels, int) or self.levels < 0:
            raise ValueError(f"levels must be an integer >= 0, got {self.levels!r}")
        mk.check_keep(self.keep)
        if self.scope not in ("global", "layerwise"):
            raise ValueError(f"scope must be 'global' or 'layerwise', got {self.scope!r}")
        if self.bn_rewind and not self.method.startswith("lrr"):
            raise ValueError("bn_rewind applies to LRR only (IMP/WR rewind every parameter anyway)")
        if not 0 <= self.perturb_fraction <= 1:
            raise ValueError(f"perturb_fraction must be in [0, 1], got {self.perturb_fraction!r}")
        if self.perturb_level is not None and not 1 <= self.perturb_level <= self.levels:
            raise ValueError(f"perturb_level must be a pruning level 1..{self.levels}, got {self.perturb_level!r}")
        if self.criterion not in criteria.CRITERIA:
            raise ValueError(f"unknown pruning criterion {self.criterion!r}; available: {', '.join(criteria.CRITERIA)}")
        if self.criterion != "magnitude" and self.scope != "global":
            raise ValueError("snip and synflow rank all layers together: use scope 'global'")
        if self.method.endswith("-rand") and self.mask_from:
            raise ValueError("a random-mask method cannot also take its mask from another run")


def _bn_keys(model: nn.Module) -> list[str]:
    keys = []
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            keys += [f"{name}.{k}" for k in m.state_dict()]
    return keys


def flat_signs(model: nn.Module, masks: dict[str, torch.Tensor]) -> np.ndarray:
    w = mk.prunable(model)
    return np.concatenate([(torch.sign(w[k].detach()) * masks[k]).to(torch.int8).cpu().numpy().ravel() for k in w])


def start_state(cfg: CycleConfig, trained: dict, theta0: dict, rewind: dict, bn_keys: list[str]) -> dict:
    """The state a level starts from (before masking)."""
    if cfg.method in ("imp", "imp-rand"):
        return copy.deepcopy(theta0)
    if cfg.method == "wr":
        return copy.deepcopy(rewind)
    state = copy.deepcopy(trained)
    if cfg.bn_rewind:
        for k in bn_keys:
            state[k] = theta0[k].clone()
    return state


def _broadcast_masks(masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Under torch.distributed: every rank takes rank 0's masks (they agree already when the weights do; this
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
    return out


def _save(path: Path, obj) -> None:
    if dist_info()[1] != 0:  # only rank 0 writes
        return
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: Path, device) -> dict:
    """A run's checkpoint; an unreadable one (truncated, not a checkpoint) is an error that names the file."""
    try:
        ck = torch.load(path, map_location=device, weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise ResultsError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {str(exc)[:120]}); move it "
                           f"away to start the run again") from None
    if not isinstance(ck, dict) or "ident" not in ck or "level" not in ck:
        raise ResultsError(f"{path} is not a checkpoint of deep.run; move it away to start the run again")
    return ck


MANIFEST = "run.json"


def _adopt_legacy(out: Path, ident: dict) -> dict | None:
    """A run folder written before run folders had a manifest: adopted (its manifest written) when its
    checkpoint or metrics name this same run; None when it holds neither."""
    from sim.core.provenance import now

    found, finished = None, None
    if (out / "metrics.json").is_file():
        try:
            found, finished = json.loads((out / "metrics.json").read_text())["config"], "before run.json existed"
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ResultsError(f"corrupt {out / 'metrics.json'}; move it away") from None
    elif (out / "checkpoint.pt").is_file():
        found = load_checkpoint(out / "checkpoint.pt", "cpu")["ident"]
    if found is None:
        return None
    want = json.loads(canon(ident))
    require_same(found, want, f"{out} holds a different run")
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
    require_same(found, want, f"{out} holds a different run")
    return manifest


def run(model_fn: Callable[[], nn.Module], data: Data, tcfg: TrainConfig, cfg: CycleConfig, out: Path,
        seed: int = 0, resume: bool = False, log=print, stop_after: int | None = None,
        meta: dict | None = None) -> dict:
    """Run, continue or reuse the cycles in ``out``; returns the metrics (and the trained ``model`` when it
    trained).  ``meta`` (e.g. the model name) is part of the run's identity.  ``stop_after`` (tests): stop
    after that level, as a crash would.  ``resume`` is accepted for the command line's sake: the same run is
    always continued, another one always refused."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"--out {out} is a file, not a folder")
    if cfg.method == "wr" and cfg.rewind_epoch >= tcfg.epochs:
        raise ValueError(f"rewind_epoch ({cfg.rewind_epoch}) must be smaller than epochs ({tcfg.epochs}) for WR: "
                         f"otherwise there is no rewinding point and WR would silently become IMP")
    if dist_info()[1] != 0:  # only rank 0 owns the folder
        return _run(model_fn, data, tcfg, cfg, out, seed, log, stop_after, meta)
    with folder_lock(out):
        return _run(model_fn, data, tcfg, cfg, out, seed, log, stop_after, meta)


def _run(model_fn, data, tcfg, cfg, out, seed, log, stop_after, meta) -> dict:
    ident = json.loads(canon({"train": asdict(tcfg), "cycle": asdict(cfg), "seed": seed, "dataset": data.name,
                              **(meta or {})}))
    ckpt_path = out / "checkpoint.pt"
    device = data.device
    manifest = check_folder(out, ident) if dist_info()[1] == 0 else None
    if manifest is not None and manifest.get("finished") and (out / "metrics.json").is_file():
        log(f"{out} holds this run, finished {manifest['finished']}: reusing its results (nothing recomputed)")
        return json.loads((out / "metrics.json").read_text())
    if manifest is None and dist_info()[1] == 0:
        from sim.core.provenance import git_commit, now, versions

        atomic_write_json(out / MANIFEST, {"ident": ident, "created": now(), "git_commit": git_commit(),
                                           "versions": versions(), "finished": None})
    exists = ckpt_path.exists()
    if dist_info()[0] > 1:  # every rank looks before rank 0 writes
        import torch.distributed as dist

        dist.barrier()
    if exists:
        ck = load_checkpoint(ckpt_path, device)
        require_same(ck["ident"], ident, f"{ckpt_path} belongs to another run", "move it away")
        log(f"{out}: continuing this run after level {ck['level']}")
        torch.manual_seed(seed)
        model = model_fn().to(device)
        model.load_state_dict(ck["state"])
        masks, theta0, rewind = ck["masks"], ck["theta0"], ck["rewind"]
        history, metrics, init_signs, first = ck["history"], ck["metrics"], ck["init_signs"], ck["level"] + 1
    else:
        torch.manual_seed(seed)
        model = model_fn().to(device)
        masks = mk.full_masks(model)
        theta0 = copy.deepcopy(model.state_dict())
        init_signs = flat_signs(model, masks)
        res = train(model, data, masks, tcfg, seed=seed * 1000, snapshot_epoch=cfg.rewind_epoch)
        rewind = res.pop("snapshot") or copy.deepcopy(theta0)
        metrics = [{"level": 0, "density": 1.0, **res}]
        history = [flat_signs(model, masks)]
        first = 1
        log(f"level 0  density 1.0000  test acc {res['test_acc']:.4f}")
        _save(ckpt_path, {"ident": ident, "level": 0, "state": model.state_dict(), "masks": masks, "theta0": theta0,
                          "rewind": rewind, "history": history, "metrics": metrics, "init_signs": init_signs})
        if stop_after == 0:
            return {"metrics": metrics}
    bn_keys = _bn_keys(model)
    gen = torch.Generator()
    src_mask = transplant.load_history(cfg.mask_from) if cfg.mask_from else None
    src_sign = transplant.load_history(cfg.signs_from) if cfg.signs_from else None
    for level in range(first, cfg.levels + 1):
        gen.manual_seed(seed * 1000 + level)
        if cfg.criterion == "magnitude":
            magnitude = mk.magnitude_prune(model, masks, cfg.keep, cfg.scope)
        else:
            xb, yb = data.probe(256)
            sc = criteria.scores(model, masks, cfg.criterion, xb, yb)
            magnitude = mk.keep_top(sc, masks, cfg.keep)
        if cfg.method.endswith("-rand"):
            masks = mk.random_balanced(model, sum(int(m.sum()) for m in magnitude.values()), gen)
        elif src_mask is not None:
            masks = transplant.source_masks(model, src_mask, level)
        else:
            masks = magnitude
        masks = _broadcast_masks(masks)
        model.load_state_dict(start_state(cfg, model.state_dict(), theta0, rewind, bn_keys))
        mk.apply_(model, masks)
        if src_sign is not None:
            if level >= src_sign.shape[0]:
                raise ValueError(f"the sign source has levels 0..{src_sign.shape[0] - 1}; level {level} asked for")
            transplant.set_signs(model, src_sign[level])
        if cfg.perturb_level == level:
            transplant.perturb_signs(model, masks, cfg.perturb_fraction, gen)
        res = train(model, data, masks, tcfg, seed=seed * 1000 + level)
        res.pop("snapshot")
        metrics.append({"level": level, "density": mk.density(masks), **res})
        history.append(flat_signs(model, masks))
        log(f"level {level}  density {metrics[-1]['density']:.4f}  test acc {res['test_acc']:.4f}")
        _save(ckpt_path, {"ident": ident, "level": level, "state": model.state_dict(), "masks": masks,
                          "theta0": theta0, "rewind": rewind, "history": history, "metrics": metrics,
                          "init_signs": init_signs})
        if stop_after == level:
            return {"metrics": metrics}
    hist = np.stack(history)
    if dist_info()[1] != 0:
        return {"metrics": metrics, "model": model}
    buf = io.BytesIO()
    np.savez_compressed(buf, history=hist, init=init_signs)
    atomic_write_bytes(out / "signs.npz", buf.getvalue())
    from sim.core.provenance import git_commit, now, versions

    result = {"config": ident, "data_note": data.note, "versions": versions(), "git_commit": git_commit(),
              "device": str(device), "metrics": metrics, "signs": signs.summary(hist, init_signs)}
    atomic_write_json(out / "metrics.json", result)
    manifest = json.loads((out / MANIFEST).read_text())
    atomic_write_json(out / MANIFEST, manifest | {"finished": now()})
    return result | {"model": model}
