"""deep/'s two registries (rewind, mask source), the Mask and Checkpoint types, the dataset registry, the run
configuration and its command line (CPU, tiny)."""

from __future__ import annotations

import dataclasses
import json
import shlex

import numpy as np
import pytest
import torch

from deep import cycles, data as dmod, mask_source, methods, models, rewind
from deep import masks as mk
from deep.checkpoint import Checkpoint
from deep.train import TrainConfig
from deep_toys import cnn, tiny_data


def _sort_oracle(score: torch.Tensor, alive: torch.Tensor, keep: float) -> torch.Tensor:
    """The ranking deep.masks used before it called sim.core.magnitude.keep_largest: dead entries at -1."""
    n_keep = int(round(keep * int(alive.sum())))
    s = torch.where(alive, score.float(), torch.full_like(score, -1.0, dtype=torch.float32))
    order = torch.sort(s, descending=True, stable=True).indices[:n_keep]
    return torch.zeros_like(alive).scatter_(0, order, True)


@pytest.mark.parametrize("scope", ["global", "layerwise"])
def test_keep_top_through_keep_largest_equals_the_stable_sort_with_ties(scope):
    g = torch.Generator().manual_seed(0)
    shapes = {"a": (6, 5), "b": (40,), "c": (3, 2, 4)}
    scores = {k: torch.randint(0, 4, s, generator=g).float() for k, s in shapes.items()}  # many ties
    masks = mk.Mask({k: torch.rand(s, generator=g) < 0.7 for k, s in shapes.items()})
    got = mk.keep_top(scores, masks, 0.6, scope)
    if scope == "global":
        flat = _sort_oracle(torch.cat([scores[k].flatten() for k in shapes]),
                            torch.cat([masks[k].flatten() for k in shapes]), 0.6)
        want = dict(zip(shapes, torch.split(flat, [masks[k].numel() for k in shapes])))
    else:
        want = {k: _sort_oracle(scores[k].flatten(), masks[k].flatten(), 0.6) for k in shapes}
    assert all(torch.equal(got[k].flatten(), want[k]) for k in shapes)
    assert got.alive == mk.kept_total(masks, 0.6, scope)


def test_mask_type_density_apply_save_load_and_immutability(tmp_path):
    torch.manual_seed(0)
    m = models.build("mlp", (1, 4, 4), 3)
    full = mk.Mask.full(m)
    assert full.density == 1.0 and full.sparsity == 0.0 and list(full) == list(mk.prunable(m))
    half = mk.magnitude_prune(m, full, 0.5)
    assert isinstance(half, mk.Mask) and half.alive == round(0.5 * full.size)
    assert half.density == pytest.approx(half.alive / sum(w.numel() for w in mk.prunable(m).values()))
    before = {k: w.detach().clone() for k, w in mk.prunable(m).items()}
    half.apply(m)
    for k, w in mk.prunable(m).items():
        assert torch.equal(w.detach(), before[k] * half[k])
    half.save(tmp_path / "mask.pt")
    back = mk.Mask.load(tmp_path / "mask.pt")
    assert back.equals(half) and not back.equals(full)
    with pytest.raises(dataclasses.FrozenInstanceError):
        half.layers = {}
    with pytest.raises(TypeError, match="bool tensors"):
        mk.Mask({"w": torch.ones(3)})


def test_rewind_registry_gives_each_rule_its_state():
    theta0 = {"w": torch.zeros(3), "bn.weight": torch.ones(2)}
    trained = {"w": torch.full((3,), 2.0), "bn.weight": torch.full((2,), 3.0)}
    point = {"w": torch.full((3,), 1.0), "bn.weight": torch.full((2,), 1.5)}
    want = {"init": theta0, "epoch": point, "none": trained, "bn": {"w": trained["w"], "bn.weight": theta0["bn.weight"]}}
    assert set(rewind.REWINDS) == set(want)
    for name, state in want.items():
        got = rewind.start_state(name, trained, theta0, point, ["bn.weight"])
        assert all(torch.equal(got[k], state[k]) for k in state), name
        got["w"] += 100  # a fresh copy: the inputs are untouched
    assert float(theta0["w"].sum()) == 0 and float(trained["w"][0]) == 2 and float(point["w"][0]) == 1
    with pytest.raises(ValueError, match="rewind must be one of"):
        rewind.start_state("lrr", trained, theta0, point, [])


def test_mask_source_registry_against_independent_computations(tmp_path):
    torch.manual_seed(1)
    m = models.build("mlp", (1, 4, 4), 3)
    full = mk.Mask.full(m)
    d = tiny_data(shape=(1, 4, 4))
    gen = torch.Generator()
    p = mask_source.Pruning(m, full, 1, 0.5, "global", gen.manual_seed(3), d)
    assert set(mask_source.MASK_SOURCES) == {"magnitude", "snip", "synflow", "random", "run"}
    # magnitude: the round(keep x alive) largest |w| over the network, by numpy (stable, ties to lower index)
    w = np.concatenate([v.detach().abs().numpy().ravel() for v in mk.prunable(m).values()])
    keep_idx = np.argsort(-w, kind="stable")[:round(0.5 * w.size)]
    want = np.zeros(w.size, bool)
    want[keep_idx] = True
    got = mask_source.next_mask("magnitude", p)
    assert np.array_equal(np.concatenate([v.numpy().ravel() for v in got.values()]), want)
    # random: as many weights as magnitude keeps, the same count in every layer that can hold it
    rnd = mask_source.next_mask("random", dataclasses.replace(p, gen=torch.Generator().manual_seed(3)))
    counts = [int(v.sum()) for v in rnd.values()]
    sizes = [v.numel() for v in rnd.values()]
    uncapped = [c for c, s in zip(counts, sizes) if c < s]
    assert sum(counts) == got.alive and uncapped and max(uncapped) - min(uncapped) <= 1
    assert all(c == s or c >= max(uncapped) - 1 for c, s in zip(counts, sizes))
    assert not rnd.equals(got)
    # snip: the top scores of |w dL/dw| on the probe batch
    x, y = d.probe(mask_source.PROBE)
    loss = torch.nn.functional.cross_entropy(m(x), y)
    grads = torch.autograd.grad(loss, list(mk.prunable(m).values()))
    s = np.concatenate([(v.detach() * g).abs().numpy().ravel() for v, g in zip(mk.prunable(m).values(), grads)])
    snip = mask_source.next_mask("snip", p)
    top = np.argsort(-s, kind="stable")[:round(0.5 * s.size)]
    flat_snip = np.concatenate([v.numpy().ravel() for v in snip.values()])
    assert flat_snip.sum() == top.size and flat_snip[top].mean() > 0.95  # float noise may swap near-ties
    # run: the source history's non-zeros at the level
    hist = np.stack([np.sign(np.random.default_rng(i).standard_normal(w.size)).astype(np.int8) * (np.arange(w.size) % (i + 2) != 0)
                     for i in range(3)])
    tr = mask_source.next_mask("run", dataclasses.replace(p, level=2, source=hist))
    assert np.array_equal(np.concatenate([v.numpy().ravel() for v in tr.values()]), hist[2] != 0)
    with pytest.raises(ValueError, match="mask_from"):
        mask_source.next_mask("run", p)
    with pytest.raises(ValueError, match="mask must be one of"):
        mask_source.next_mask("grasp", p)


def test_method_names_map_onto_the_two_choices_and_old_records_convert():
    for name, (rw, ms) in methods.METHODS.items():
        assert methods.label(rw, ms) == name and cycles.CycleConfig.of(name).method == name
    assert methods.label("bn", "magnitude") == "bn+magnitude"
    base = {"levels": 2, "keep": 0.8, "scope": "global", "rewind_epoch": 1, "mask_from": None, "signs_from": None,
            "perturb_level": None, "perturb_fraction": 0.0}
    old = lambda **kw: base | {"method": "lrr", "bn_rewind": False, "criterion": "magnitude"} | kw  # noqa: E731
    assert methods.cycle_record(old(method="wr")) == base | {"rewind": "epoch", "mask": "magnitude"}
    assert methods.cycle_record(old(bn_rewind=True)) == base | {"rewind": "bn", "mask": "magnitude"}
    assert methods.cycle_record(old(method="imp", criterion="snip")) == base | {"rewind": "init", "mask": "snip"}
    assert methods.cycle_record(old(method="imp", mask_from="x")) == base | {"mask_from": "x", "rewind": "init",
                                                                              "mask": "run"}
    new = base | {"rewind": "none", "mask": "random"}
    assert methods.cycle_record(new) == new
    with pytest.raises(ValueError, match="unknown method"):
        methods.choices("lth")


@pytest.mark.parametrize("rule", ["init", "epoch", "none", "bn"])
def test_each_level_starts_from_its_rewinding_point(rule, tmp_path, monkeypatch):
    """The state every level's training starts from, seen inside cycles.run, against the rule applied to the
    saved theta(0), the actual rewinding snapshot and the previous level's trained weights."""
    seen = []
    real = cycles.train

    def spy(model, data, masks, tcfg, seed, snapshot_epoch=None):
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        res = real(model, data, masks, tcfg, seed, snapshot_epoch)
        seen[-1] = (seen[-1], {k: v.clone() for k, v in model.state_dict().items()}, res.get("snapshot"))
        return res

    monkeypatch.setattr(cycles, "train", spy)
    d = tiny_data()
    tcfg = TrainConfig(epochs=3, lr=0.1, batch=16, schedule="constant", warmup_epochs=0)
    cycles.run(cnn, d, tcfg, cycles.CycleConfig(rewind=rule, levels=2, rewind_epoch=1), tmp_path / "r", seed=4,
               log=lambda s: None)
    ck = Checkpoint.load(tmp_path / "r" / "checkpoint.pt")
    (start0, end0, snap), (start1, end1, _), (start2, _, _) = seen
    theta0 = ck.theta0
    assert all(torch.equal(start0[k], theta0[k]) for k in theta0)
    # the rewinding point is the state after 1 epoch, by an independent 1-epoch training (constant lr: the
    # first epoch of a 3-epoch run is a 1-epoch run)
    torch.manual_seed(4)
    ref = cnn()
    real(ref, d, mk.Mask.full(ref), dataclasses.replace(tcfg, epochs=1), seed=4000)
    assert all(torch.equal(snap[k], v) for k, v in ref.state_dict().items())
    assert all(torch.equal(ck.rewind_point[k], snap[k]) for k in snap)
    bn = cycles._bn_keys(cnn())
    weights = set(mk.prunable(cnn()))
    for start, prev_end in ((start1, end0), (start2, end1)):
        want = {"init": theta0, "epoch": snap, "none": prev_end,
                "bn": {k: theta0[k] if k in bn else prev_end[k] for k in prev_end}}[rule]
        for k in want:
            if k in weights:  # pruned entries are zero, the rest the rewinding point's
                alive = start[k] != 0
                assert torch.equal(start[k][alive], want[k][alive]) and alive.sum() < alive.numel()
            else:
                assert torch.equal(start[k], want[k]), (rule, k)


def test_checkpoint_round_trip_and_refusals(tmp_path):
    from sim.core.folders import ResultsError

    torch.manual_seed(0)
    m = cnn()
    mask = mk.magnitude_prune(m, mk.Mask.full(m), 0.5)
    ck = Checkpoint({"seed": 1}, 2, m.state_dict(), mask, m.state_dict(), m.state_dict(), [np.ones(3, np.int8)],
                    [{"level": 0}], np.ones(3, np.int8))
    ck.save(tmp_path / "c.pt")
    back = Checkpoint.load(tmp_path / "c.pt")
    assert back.ident == {"seed": 1} and back.level == 2 and back.mask.equals(mask)
    assert all(torch.equal(back.state[k], v) for k, v in m.state_dict().items())
    raw = torch.load(tmp_path / "c.pt", weights_only=False)
    assert set(raw) == {"ident", "level", "state", "masks", "theta0", "rewind", "history", "metrics", "init_signs"}
    torch.save({"ident": {}, "level": 0}, tmp_path / "partial.pt")
    with pytest.raises(ResultsError, match="not a checkpoint of deep.run"):
        Checkpoint.load(tmp_path / "partial.pt")


def test_a_folder_recorded_with_a_method_name_is_the_same_run(tmp_path):
    d = tiny_data()
    tcfg = TrainConfig(epochs=1, lr=0.1, batch=16)
    cfg = cycles.CycleConfig(rewind="bn", levels=1)
    out = tmp_path / "run"
    cycles.run(cnn, d, tcfg, cfg, out, seed=0, log=lambda s: None)
    manifest = json.loads((out / "run.json").read_text())
    cyc = manifest["ident"]["cycle"]
    old = {k: v for k, v in cyc.items() if k not in ("rewind", "mask")} | {"method": "lrr", "bn_rewind": True,
                                                                         "criterion": "magnitude"}
    (out / "run.json").write_text(json.dumps(manifest | {"ident": manifest["ident"] | {"cycle": old}}))
    said = []
    cycles.run(cnn, d, tcfg, cfg, out, seed=0, log=said.append)
    assert "reusing its results" in said[0]
    from sim.core.folders import ResultsError

    with pytest.raises(ResultsError, match="differs in: cycle"):
        cycles.run(cnn, d, tcfg, cycles.CycleConfig(rewind="none", levels=1), out, seed=0, log=lambda s: None)


def test_dataset_registry_and_missing_data_errors(tmp_path):
    assert tuple(dmod.LOADERS) == dmod.DATASETS and "mnist-5k" in dmod.LOADERS
    for name, where in (("cifar10", "cifar-10-batches-py"), ("mnist", "train-images-idx3-ubyte"),
                        ("tinyimagenet", "tiny-imagenet-200"), ("imagenet", "imagenet/train")):
        with pytest.raises(FileNotFoundError, match=where) as exc:
            dmod.load(name, tmp_path)
        assert "\n" not in str(exc.value)
        with pytest.raises(FileNotFoundError, match="--data-root"):
            dmod.load(name, None)
    with pytest.raises(ValueError, match="unknown dataset 'svhn'; available: digits"):
        dmod.load("svhn")


def _documented_commands() -> list[str]:
    """Every ``deep.run`` command of README.md, paper_repro.md and deep/run.py's docstring, one line each."""
    from pathlib import Path

    from deep import run

    root = Path(__file__).resolve().parent.parent
    text = "\n".join((root / f).read_text() for f in ("README.md", "paper_repro.md")) + run.__doc__
    text = text.replace("\\\n", " ")
    cmds = []
    for line in text.splitlines():
        for part in line.split("`"):
            if "deep.run --" in part and "..." not in part:
                cmds.append(part.split("deep.run ", 1)[1].split("#")[0].strip())
    # the option fragments paper_repro.md gives after "...", on a base command
    base = "--dataset mnist1d --model cnn --levels 2 --epochs 2 "
    for frag in ("--method imp --mask-from LRR --signs-from LRR", "--method lrr --bn-rewind", "--method lrr-rand",
                 "--method imp-rand", "--method imp --criterion snip", "--method lrr --criterion synflow",
                 "--method wr", "--method lrr --perturb-level 1 --perturb-fraction 0.3",
                 "--method lrr --mask-from IMP"):
        cmds.append(base + frag)
    cmds.append("--preset cifar10-resnet18 --data-root ~/data --method lrr --precision bf16 --channels-last --compile")
    return cmds


def test_every_documented_command_parses(tmp_path):
    from deep import run

    cmds = _documented_commands()
    assert len(cmds) >= 10
    for cmd in cmds:
        argv = [a for a in shlex.split(cmd.replace("[--lr 0.05]", "--lr 0.05").replace("--seed S", "--seed 1")
                                       .replace("$OUT", str(tmp_path)).replace("--n-train N", "--n-train 2000"))]
        if not torch.cuda.is_available():
            argv = ["cpu" if a == "cuda" else a for a in argv]
        cfg, machine = run.parse_args(argv)
        named = dict(zip(argv, argv[1:]))
        rw, ms = methods.METHODS[named.get("--method", "lrr")]
        rw = "bn" if "--bn-rewind" in argv else rw
        ms = "run" if "--mask-from" in named else named.get("--criterion", ms)
        assert (cfg.cycle.rewind, cfg.cycle.mask) == (rw, ms), cmd
        assert cfg.cycle.mask_from == named.get("--mask-from") and cfg.cycle.signs_from == named.get("--signs-from")
        assert cfg.dataset == named.get("--dataset", cfg.dataset) and cfg.seed == int(named.get("--seed", 0))
        if "--epochs" in named:
            assert cfg.train.epochs == int(named["--epochs"])


def test_cli_options_are_the_config_fields_and_the_folder_is_named_by_the_config():
    from deep import run
    from sim.core.config import config_hash, options

    base = ["--dataset", "digits", "--model", "cnn"]
    cfg, machine = run.parse_args(base)
    assert cfg.train == TrainConfig() and cfg.cycle == cycles.CycleConfig() and machine == run.Machine()
    for cls in (TrainConfig, cycles.CycleConfig, run.RunConfig, run.Machine):  # every field is an option
        for f, _ in options(cls):
            assert f"--{f.name.replace('_', '-')}" in run.parser().format_help(), f.name
    imp, _ = run.parse_args(base + ["--method", "imp"])
    same, _ = run.parse_args(base + ["--rewind", "init", "--mask", "magnitude"])
    assert imp == same and imp.cycle.method == "imp"
    lr, _ = run.parse_args(base + ["--method", "imp", "--lr", "0.05"])
    names = {c.folder() for c in (cfg, imp, lr)}
    assert len(names) == 3 and imp.folder().name == f"digits-cnn-imp-seed0-{config_hash(imp)}"
    snip, _ = run.parse_args(base + ["--method", "imp", "--criterion", "snip"])
    assert (snip.cycle.rewind, snip.cycle.mask) == ("init", "snip")
    for bad, word in ((["--method", "imp", "--rewind", "none"], "--method"),
                      (["--method", "wr", "--bn-rewind"], "--bn-rewind"),
                      (["--lr", "nan"], "--lr"), (["--mask", "grasp"], "--mask"),
                      (["--method", "wr", "--rewind-epoch", "5", "--epochs", "2"], "--rewind-epoch 5 must be smaller")):
        with pytest.raises(SystemExit):
            run.parse_args(base + bad)
