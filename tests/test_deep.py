"""deep/: masks, rewinding rules, sign statistics, checkpoint/resume, datasets and bad input (CPU, tiny)."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch

from deep import cycles, data as dmod, masks as mk, models, signs
from deep.train import TrainConfig, train
from deep_toys import cnn, tiny_data


@pytest.mark.parametrize("scope", ["global", "layerwise"])
def test_masks_keep_exactly_the_requested_fraction(scope):
    torch.manual_seed(0)
    m = models.build("mlp", (1, 8, 8), 3)
    masks = mk.full_masks(m)
    for _ in range(3):
        alive = {k: int(v.sum()) for k, v in masks.items()}
        new = mk.magnitude_prune(m, masks, 0.8, scope)
        assert all(bool((new[k] <= masks[k]).all()) for k in masks)  # nested
        if scope == "layerwise":
            assert all(int(new[k].sum()) == round(0.8 * alive[k]) for k in masks)
        else:
            assert sum(int(v.sum()) for v in new.values()) == round(0.8 * sum(alive.values()))
        kept = torch.cat([w.detach().abs()[new[k]] for k, w in mk.prunable(m).items()])
        dropped = torch.cat([w.detach().abs()[masks[k] & ~new[k]] for k, w in mk.prunable(m).items()])
        if scope == "global":
            assert float(kept.min()) >= float(dropped.max())
        masks = new
        mk.apply_(m, masks)


def test_pruned_weights_stay_zero_through_training_with_momentum_and_weight_decay():
    torch.manual_seed(1)
    m, d = cnn(), tiny_data()
    masks = mk.magnitude_prune(m, mk.full_masks(m), 0.5)
    train(m, d, masks, TrainConfig(epochs=3, lr=0.2, momentum=0.9, weight_decay=1e-2, batch=16), seed=0)
    for k, w in mk.prunable(m).items():
        assert bool((w[~masks[k]] == 0).all())
        assert bool((w[masks[k]] != 0).any())


def test_imp_rewinds_exactly_lrr_continues_and_bn_rewind_touches_only_bn():
    from deep.rewind import start_state

    torch.manual_seed(2)
    m = cnn()
    theta0 = {k: v.clone() for k, v in m.state_dict().items()}
    train(m, tiny_data(), mk.full_masks(m), TrainConfig(epochs=2, lr=0.1, batch=16), seed=0)
    trained = {k: v.clone() for k, v in m.state_dict().items()}
    rewind = {k: v + 1 for k, v in theta0.items()}
    bn = cycles._bn_keys(m)
    assert bn and all("running_mean" in k or "weight" in k or "bias" in k or "num_batches" in k
                      or "running_var" in k for k in bn)
    imp = start_state("init", trained, theta0, rewind, bn)
    wr = start_state("epoch", trained, theta0, rewind, bn)
    lrr = start_state("none", trained, theta0, rewind, bn)
    lrr_bn = start_state("bn", trained, theta0, rewind, bn)
    for k in theta0:
        assert torch.equal(imp[k], theta0[k]) and torch.equal(wr[k], rewind[k]) and torch.equal(lrr[k], trained[k])
        assert torch.equal(lrr_bn[k], theta0[k] if k in bn else trained[k])
    changed = [k for k in theta0 if not torch.equal(trained[k], theta0[k])]
    assert any(k not in bn for k in changed) and any(k in bn for k in changed)


def test_balanced_random_masks_have_equal_layer_counts():
    m = models.build("mlp", (1, 8, 8), 3)  # layers of 16384, 65536 and 768 weights
    sizes = {k: w.numel() for k, w in mk.prunable(m).items()}
    for total in (300, 3001, 60000):
        masks = mk.random_balanced(m, total, torch.Generator().manual_seed(0))
        counts = {k: int(v.sum()) for k, v in masks.items()}
        assert sum(counts.values()) == total
        uncapped = [c for k, c in counts.items() if c < sizes[k]]
        assert max(uncapped) - min(uncapped) <= 1
        assert all(c == sizes[k] or c >= max(uncapped) - 1 for k, c in counts.items())


def test_sign_statistics_on_a_hand_built_history():
    init = np.array([1, 1, -1, 1])
    hist = np.array([[1, -1, -1, 1],
                     [-1, -1, 1, 0],
                     [-1, 1, 1, 0],
                     [-1, 1, -1, 0]], dtype=np.int8)
    assert signs.switches(hist).tolist() == [1, 1, 2, 0]
    assert signs.last_change(hist).tolist() == [1, 2, 3, 0]
    # level 0: 1 of 4 differs from init; level 1: all 3 alive differ; level 2: 2 of 3; level 3: 1 of 3
    assert np.allclose(signs.flips_from_init(hist, init), [1 / 4, 3 / 3, 2 / 3, 1 / 3])


def test_resume_after_a_crash_equals_an_uninterrupted_run(tmp_path):
    d = tiny_data()
    tcfg = TrainConfig(epochs=2, lr=0.1, batch=16)
    for method in ("imp", "lrr"):
        ccfg = cycles.CycleConfig.of(method, levels=3)
        full = cycles.run(cnn, d, tcfg, ccfg, tmp_path / f"{method}-full", seed=3, log=lambda s: None)
        cycles.run(cnn, d, tcfg, ccfg, tmp_path / f"{method}-crash", seed=3, log=lambda s: None, stop_after=1)
        # the same run started again continues it
        resumed = cycles.run(cnn, d, tcfg, ccfg, tmp_path / f"{method}-crash", seed=3, log=lambda s: None)
        assert [r["test_acc"] for r in resumed["metrics"]] == [r["test_acc"] for r in full["metrics"]]
        a = np.load(tmp_path / f"{method}-full" / "signs.npz")["history"]
        b = np.load(tmp_path / f"{method}-crash" / "signs.npz")["history"]
        assert np.array_equal(a, b)
        dens = [r["density"] for r in full["metrics"]]
        assert np.allclose(dens, [1, 0.8, 0.64, 0.512], atol=2e-3)


def test_run_folders_follow_the_results_contract(tmp_path):
    """A finished run is reused, never overwritten; another run is refused even when the checkpoint is gone;
    a folder that is not a run folder, a folder in use, a damaged checkpoint: refused, naming what."""
    from sim.core.folders import ResultsError, folder_lock

    d = tiny_data()
    tcfg = TrainConfig(epochs=2, lr=0.1, batch=16)
    ccfg = cycles.CycleConfig.of("lrr", levels=1)
    quiet = lambda s: None  # noqa: E731
    out = tmp_path / "run"
    first = cycles.run(cnn, d, tcfg, ccfg, out, seed=3, log=quiet)
    stamp = (out / "metrics.json").stat().st_mtime_ns
    said = []
    again = cycles.run(cnn, d, tcfg, ccfg, out, seed=3, log=said.append)
    assert "reusing its results" in said[0] and again["metrics"] == first["metrics"]
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    (out / "checkpoint.pt").unlink()
    with pytest.raises(ResultsError, match=r"different run \(differs in: .*train"):
        cycles.run(cnn, d, TrainConfig(epochs=3, lr=0.1, batch=16), ccfg, out, seed=3, log=quiet)
    with pytest.raises(ResultsError, match="differs in: seed"):
        cycles.run(cnn, d, tcfg, ccfg, out, seed=4, log=quiet)
    assert (out / "metrics.json").stat().st_mtime_ns == stamp
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(ResultsError, match="not a results folder of deep.run"):
        cycles.run(cnn, d, tcfg, ccfg, stranger, seed=3, log=quiet)
    busy = tmp_path / "busy"
    with folder_lock(busy):
        with pytest.raises(ResultsError, match="in use by another run"):
            cycles.run(cnn, d, tcfg, ccfg, busy, seed=3, log=quiet)
    crashed = tmp_path / "crashed"
    cycles.run(cnn, d, tcfg, cycles.CycleConfig.of("lrr", levels=2), crashed, seed=3, log=quiet, stop_after=0)
    (crashed / "checkpoint.pt").write_bytes((crashed / "checkpoint.pt").read_bytes()[:100])
    with pytest.raises(ResultsError, match=r"checkpoint\.pt is not a readable checkpoint"):
        cycles.run(cnn, d, tcfg, cycles.CycleConfig.of("lrr", levels=2), crashed, seed=3, log=quiet)
    with pytest.raises(ValueError, match=r"rewind_epoch 5 must be smaller than epochs 2"):
        cycles.run(cnn, d, tcfg, cycles.CycleConfig.of("wr", levels=1, rewind_epoch=5), tmp_path / "wr", seed=3,
                   log=quiet)
    import stat

    assert stat.S_IMODE((out / "metrics.json").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    import os

    m = os.umask(0)
    os.umask(m)
    return m


def test_datasets_in_their_standard_layouts_and_clear_errors(tmp_path):
    # MNIST IDX (test files only -> mnist-t10k), written here in the original format
    root = tmp_path / "mnist"
    root.mkdir()
    imgs = np.random.default_rng(0).integers(0, 255, size=(10_000, 28, 28), dtype=np.uint8)
    labels = (np.arange(10_000) % 10).astype(np.uint8)
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 3]) + (10_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + imgs.tobytes())
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + (10_000).to_bytes(4, "big") + labels.tobytes())
    d = dmod.load("mnist-t10k", root)
    assert d.x_train.shape == (8000, 1, 28, 28) and d.x_test.shape == (2000, 1, 28, 28) and "8000" in d.note
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.*mnist-t10k"):
        dmod.load("mnist", root)
    # the labels file where the images belong: refused by its magic number, naming the file
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    (swapped / "t10k-images-idx3-ubyte.gz").write_bytes((root / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (swapped / "t10k-labels-idx1-ubyte.gz").write_bytes((root / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: expected an IDX images file.*swapped"):
        dmod.load("mnist-t10k", swapped)
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    raw = gzip.decompress((root / "t10k-images-idx3-ubyte.gz").read_bytes())
    (truncated / "t10k-images-idx3-ubyte").write_bytes(raw[:-100])
    (truncated / "t10k-labels-idx1-ubyte.gz").write_bytes((root / "t10k-labels-idx1-ubyte.gz").read_bytes())
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte: header says shape .* truncated"):
        dmod.load("mnist-t10k", truncated)
    # CIFAR-10 python pickles
    c = tmp_path / "c" / "cifar-10-batches-py"
    c.mkdir(parents=True)
    for f in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(c / f, "wb") as fh:
            pickle.dump({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0, 1, 2, 3]}, fh)
    d = dmod.load("cifar10", tmp_path / "c")
    assert d.x_train.shape == (20, 3, 32, 32) and d.classes == 10
    (c / "data_batch_3").write_bytes(b"junk, not a pickle")
    with pytest.raises(ValueError, match="data_batch_3: not a CIFAR python-pickle batch"):
        dmod.load("cifar10", tmp_path / "c")
    (c / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch"):
        dmod.load("cifar10", tmp_path / "c")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="cifar-100-python"):
        dmod.load("cifar100", empty)
    with pytest.raises(FileNotFoundError, match="--data-root"):
        dmod.load("cifar10", None)
    with pytest.raises(ValueError, match="unknown dataset"):
        dmod.load("svhn")
    with pytest.raises(ValueError, match="unknown model"):
        models.build("alexnet", (3, 32, 32), 10)
    with pytest.raises(ValueError, match=r"keep must be in \(0, 1\]"):
        cycles.CycleConfig(keep=1.5)
    with pytest.raises(ValueError, match="unknown method"):
        cycles.CycleConfig.of("snip")
    with pytest.raises(ValueError, match="rewind must be one of"):
        cycles.CycleConfig(rewind="wr")
    with pytest.raises(ValueError, match="mask must be one of"):
        cycles.CycleConfig(mask="grasp")
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="n_train"):
        d.head(21)
    assert len(d.head(7).y_train) == 7 and len(d.head(7).y_test) == len(d.y_test)


def test_digits_and_models_run_forward():
    d = dmod.load("digits")
    assert d.x_train.shape == (1437, 1, 8, 8) and d.classes == 10
    for name, shape in (("mlp", (1, 8, 8)), ("cnn", (1, 40)), ("lenet5", (1, 28, 28)), ("resnet18", (3, 32, 32)),
                        ("resnet50", (3, 32, 32)),
                        ("vgg16_bn", (3, 32, 32))):
        m = models.build(name, shape, 10).eval()
        assert m(torch.zeros(2, *shape)).shape == (2, 10)


def test_mask_and_sign_transplants_and_sign_perturbation(tmp_path):
    from deep import transplant

    d = tiny_data()
    tcfg = TrainConfig(epochs=1, lr=0.1, batch=16)
    quiet = dict(log=lambda s: None)
    cycles.run(cnn, d, tcfg, cycles.CycleConfig.of("lrr", levels=2), tmp_path / "lrr", seed=5, **quiet)
    src = np.load(tmp_path / "lrr" / "signs.npz")["history"]
    cycles.run(cnn, d, tcfg, cycles.CycleConfig(rewind="init", mask="run", levels=2, mask_from=str(tmp_path / "lrr")),
               tmp_path / "imp-on-lrr", seed=6, **quiet)
    got = np.load(tmp_path / "imp-on-lrr" / "signs.npz")["history"]
    # the mask of every level is the source's (a trained weight is never exactly 0 on the mask)
    assert np.array_equal(got[1:] != 0, src[1:] != 0)
    # IMP init + LRR mask + LRR signs: magnitudes of theta(0), signs of the source
    torch.manual_seed(0)
    m = cnn()
    mags = {k: w.detach().abs().clone() for k, w in mk.prunable(m).items()}
    transplant.set_signs(m, src[2])
    flat = np.concatenate([torch.sign(w.detach()).numpy().ravel() for w in mk.prunable(m).values()])
    alive = src[2] != 0
    assert np.array_equal(flat[alive], src[2][alive])
    src_masks = transplant.source_masks(m, src, 2)
    assert all(torch.equal(w.detach().abs()[src_masks[k]], mags[k][src_masks[k]]) for k, w in mk.prunable(m).items())
    assert all(bool((w.detach()[~src_masks[k]] == 0).all()) for k, w in mk.prunable(m).items())  # off the mask: 0
    # sign perturbation: exactly round(fraction x alive) flips per layer
    masks = transplant.source_masks(m, src, 2)
    before = {k: w.detach().clone() for k, w in mk.prunable(m).items()}
    flipped = transplant.perturb_signs(m, masks, 0.3, torch.Generator().manual_seed(1))
    for k, w in mk.prunable(m).items():
        changed = int(((torch.sign(w) != torch.sign(before[k])) & masks[k] & (before[k] != 0)).sum())
        assert changed == flipped[k] == round(0.3 * int(masks[k].sum()))
    with pytest.raises(FileNotFoundError, match="signs.npz"):
        transplant.load_history(tmp_path / "nothing")
    with pytest.raises(ValueError, match="perturb_level 3 is not a pruning level"):
        cycles.CycleConfig(levels=2, perturb_level=3, perturb_fraction=0.3)
    with pytest.raises(ValueError, match="mask_from"):
        cycles.CycleConfig(mask="magnitude", mask_from=str(tmp_path / "lrr"))


def test_snip_and_synflow_scores_by_hand_and_iterative_use(tmp_path):
    from deep import criteria

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Linear(2, 1, bias=False))
    W1, W2 = net[0].weight.detach().clone(), net[1].weight.detach().clone()
    masks = mk.full_masks(net)
    masks["0.weight"][0, 0] = False
    # synflow: R = 1^T |W2| |W1 * M| 1, so dR/dW1_ij = |W2_i| (sign handled by abs), score_ij = |W1_ij| |W2_i|
    s = criteria.scores(net, masks, "synflow", torch.zeros(1, 3), None)
    want1 = (W1.abs() * masks["0.weight"]) * W2.abs().T
    assert torch.allclose(s["0.weight"], want1.float(), atol=1e-6) and float(s["0.weight"][0, 0]) == 0
    want2 = W2.abs() * (W1.abs() * masks["0.weight"]).sum(1)[None]
    assert torch.allclose(s["1.weight"], want2.float(), atol=1e-6)
    # snip: |w * dL/dw| of the masked network on the batch
    x, y = torch.randn(5, 3), torch.zeros(5, dtype=torch.long)
    net2 = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False), torch.nn.Linear(2, 2, bias=False))
    m2 = mk.full_masks(net2)
    s2 = criteria.scores(net2, m2, "snip", x, y)
    loss = torch.nn.functional.cross_entropy(net2(x), y)
    g = torch.autograd.grad(loss, [net2[0].weight])[0]
    assert torch.allclose(s2["0.weight"], (net2[0].weight * g).abs().detach(), atol=1e-7)
    kept = mk.keep_top(s2, m2, 0.5)
    assert sum(int(v.sum()) for v in kept.values()) == round(0.5 * 10)
    with pytest.raises(ValueError, match="criterion"):
        criteria.scores(net2, m2, "grasp", x, y)
    with pytest.raises(ValueError, match="ranks all layers together"):
        cycles.CycleConfig(mask="snip", scope="layerwise")
    res = cycles.run(cnn, tiny_data(), TrainConfig(epochs=1, lr=0.1, batch=16),
                     cycles.CycleConfig(rewind="none", mask="synflow", levels=2), tmp_path / "sf", log=lambda s: None)
    assert np.allclose([r["density"] for r in res["metrics"]], [1, 0.8, 0.64], atol=2e-3)


def _ddp_worker(rank, world, port, out):
    import os

    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    try:
        res = cycles.run(cnn, tiny_data(), TrainConfig(epochs=1, lr=0.1, batch=16),
                         cycles.CycleConfig.of("lrr", levels=2), out / "run", seed=1, log=lambda s: None)
        torch.save({"acc": [r["test_acc"] for r in res["metrics"]], "state": res["model"].state_dict()},
                   out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_distributed_data_parallel_keeps_ranks_identical(tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, tmp_path), nprocs=2, join=True)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert a["acc"] == b["acc"] and len(a["acc"]) == 3
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"])  # identical weights, masks, BN
    ck = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert ck["level"] == 2 and abs(mk.density(ck["masks"]) - 0.64) < 2e-3
    assert (tmp_path / "run" / "metrics.json").is_file()


def test_table1_presets_and_cli_errors():
    from deep import run

    a, _ = run.parse_args(["--preset", "cifar100-resnet50", "--epochs", "30"])
    assert (a.dataset, a.model, a.train.schedule, a.train.warmup_epochs, a.train.weight_decay, a.train.batch,
            a.train.epochs, a.cycle.rewind_epoch, a.cycle.method) == \
        ("cifar100", "resnet50", "step-warmup", 10, 1e-3, 256, 30, 10, "lrr")
    assert run.main(["--preset", "cifar10-resnet18", "--levels", "0"]) == 2  # no data: one line, exit 2
    with pytest.raises(SystemExit):
        run.parse_args(["--model", "cnn"])  # no dataset
    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "digits", "--model", "resnet152"])


def test_tiny_imagenet_layout(tmp_path):
    from PIL import Image

    base = tmp_path / "tiny-imagenet-200"
    wnids = ["n01", "n02"]
    (base / "val" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(wnids))
    ann = []
    for c, w in enumerate(wnids):
        (base / "train" / w / "images").mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (64, 64), (40 * c, 10 * i, 0)).save(base / "train" / w / "images" / f"{w}_{i}.JPEG")
        Image.new("RGB", (64, 64), (40 * c, 0, 0)).save(base / "val" / "images" / f"val_{c}.JPEG")
        ann.append(f"val_{c}.JPEG\t{w}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(ann))
    d = dmod.load("tinyimagenet", tmp_path)
    assert d.x_train.shape == (6, 3, 64, 64) and d.y_test.tolist() == [0, 1] and d.classes == 2
    (base / "val" / "val_annotations.txt").unlink()
    with pytest.raises(FileNotFoundError, match="val_annotations.txt"):
        dmod.load("tinyimagenet", tmp_path)


def test_table1_presets_follow_appendix_a3():
    from deep import run
    from deep.train import lr_factor

    for name, p in run.PRESETS.items():  # the WR rewinding point is the end of the warm-up (A.3)
        assert p["rewind_epoch"] == p["warmup_epochs"], name
    a, _ = run.parse_args(["--preset", "imagenet-resnet50", "--levels", "2"])
    assert (a.dataset, a.model, a.train.epochs, a.train.schedule, a.train.warmup_epochs, a.train.weight_decay,
            a.cycle.levels) == \
        ("imagenet", "resnet50_imagenet", 90, "imagenet-step", 10, 1e-4, 2)
    # step-warmup: x0.1 at epochs 60 and 120 of 150 (A.3 (ii)); one step per epoch here
    cfg = TrainConfig(epochs=150, schedule="step-warmup", warmup_epochs=10)
    got = [lr_factor(cfg, e, 1) for e in (0, 9, 10, 59, 60, 119, 120, 149)]
    assert got == pytest.approx([0.1, 1.0, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01])
    # ImageNet (A.3 (iii)): constant lr/10 in the warm-up, then lr, x0.1 every 30 epochs after it
    cfg = TrainConfig(epochs=90, schedule="imagenet-step", warmup_epochs=10)
    got = [lr_factor(cfg, e, 2) for e in (0, 19, 20, 79, 80, 139, 140, 179)]
    assert got == pytest.approx([0.1, 0.1, 1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def _crop_flip_oracle(x, oy, ox, flip, pad):
    """Per-example reference: pad, slice, mirror."""
    out = []
    for i in range(len(x)):
        xp = torch.nn.functional.pad(x[i], (pad, pad, pad, pad))
        c = xp[:, oy[i]:oy[i] + x.shape[2], ox[i]:ox[i] + x.shape[3]]
        out.append(c.flip(-1) if flip[i] else c)
    return torch.stack(out)


def test_batched_crop_flip_equals_the_per_example_reference():
    from deep import augment

    x = torch.randn(64, 3, 8, 6)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    got = augment.crop_flip(x, g1, pad=2)
    oy, ox = torch.randint(0, 5, (64,), generator=g2), torch.randint(0, 5, (64,), generator=g2)
    flip = torch.rand(64, generator=g2) < 0.5
    assert 0 < int(flip.sum()) < 64
    assert torch.equal(got, _crop_flip_oracle(x, oy.tolist(), ox.tolist(), flip.tolist(), 2))
    # 1-D signals shift along the length only
    s = torch.arange(10.0).view(1, 1, 10).repeat(4, 2, 1)
    out = augment.crop_flip(s, torch.Generator().manual_seed(0), pad=3)
    for row in out[:, 0]:
        nz = row[row != 0]
        assert torch.equal(nz, torch.arange(float(nz[0]), float(nz[0]) + len(nz)))  # a contiguous window
    assert torch.equal(augment.apply("none", x, g1), x)
    with pytest.raises(ValueError, match="augment must be one of"):
        TrainConfig(augment="mixup")


def test_bf16_channels_last_augmented_training_keeps_pruned_weights_zero():
    torch.manual_seed(3)
    m = models.build("cnn", (3, 8, 8), 3)
    d = tiny_data(shape=(3, 8, 8))
    masks = mk.magnitude_prune(m, mk.full_masks(m), 0.5)
    cfg = TrainConfig(epochs=2, lr=0.1, batch=16, augment="crop-flip", precision="bf16", channels_last=True)
    res = train(m, d, masks, cfg, seed=0)
    assert 0 <= res["test_acc"] <= 1 and np.isfinite(res["train_loss"])
    for k, w in mk.prunable(m).items():
        assert bool((w[~masks[k]] == 0).all()) and bool((w[masks[k]] != 0).any())
    assert next(p for p in m.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)


def _write_imagenet(root, wnids=("n0001", "n0002"), per_class=4, size=(40, 30)):
    from PIL import Image

    for c, w in enumerate(wnids):
        for split, n in (("train", per_class), ("val", 1)):
            (root / "imagenet" / split / w).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.new("RGB", size, (100 * c, 20 * i, 50)).save(root / "imagenet" / split / w / f"{w}_{i}.JPEG")


def test_imagenet_imagefolder_layout_streams_deterministic_crops(tmp_path):
    from deep import imagefolder

    _write_imagenet(tmp_path)
    d = dmod.load("imagenet", tmp_path, image_size=16, workers=0)
    assert (d.n_train, len(d.test_items), d.classes, d.in_shape) == (8, 2, 2, (3, 16, 16))
    perm = torch.arange(8)
    a = list(d.train_batches(perm, 3, "crop-flip", torch.Generator().manual_seed(1)))
    b = list(d.train_batches(perm, 3, "crop-flip", torch.Generator().manual_seed(1)))
    assert [x.shape[0] for x, _ in a] == [3, 3, 2] and all(torch.equal(p[0], q[0]) for p, q in zip(a, b))
    assert torch.cat([y for _, y in a]).tolist() == [d.train_items[i][1] for i in range(8)]
    xs, ys = zip(*d.eval_batches("test", 4))
    assert xs[0].shape == (2, 3, 16, 16) and sorted(ys[0].tolist()) == [0, 1]
    # the crops: always size x size, also for extreme aspect ratios (the fallback centre crop)
    from PIL import Image

    rng = np.random.default_rng(0)
    for wh in ((300, 10), (10, 300), (50, 50)):
        assert imagefolder.random_resized_crop(Image.new("RGB", wh), 16, rng).size == (16, 16)
        assert imagefolder.center_crop(Image.new("RGB", wh), 16).size == (16, 16)
    # a level of LRR with SNIP runs through the streamed loader (probe, batches, evaluation)
    tcfg = TrainConfig(epochs=1, lr=0.05, batch=4, augment="crop-flip")
    res = cycles.run(lambda: models.build("cnn", d.in_shape, d.classes), d, tcfg,
                     cycles.CycleConfig(rewind="none", mask="snip", levels=1), tmp_path / "run", log=lambda *_: 0)
    assert len(res["metrics"]) == 2 and abs(res["metrics"][1]["density"] - 0.8) < 1e-2
    # errors that say what to put where
    with pytest.raises(FileNotFoundError, match="imagenet/train"):
        dmod.load("imagenet", tmp_path / "imagenet")
    (tmp_path / "imagenet" / "val" / "n9999").mkdir()
    with pytest.raises(ValueError, match="n9999"):
        dmod.load("imagenet", tmp_path)


def test_resnet50_imagenet_has_the_published_size():
    m = models.build("resnet50_imagenet", (3, 64, 64), 1000)
    assert sum(p.numel() for p in m.parameters()) == 25_557_032  # He et al.'s ResNet-50 (torchvision's count)
    assert m(torch.randn(2, 3, 64, 64)).shape == (2, 1000)


def test_bench_counts_flops_by_hand_and_reports_overhead():
    from deep import bench

    m = models.build("mlp", (1, 8, 8), 3)  # Linear 64->256->256->3, width 256
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    sizes = [(64, 256), (256, 256), (256, 3)]
    fwd = sum(2 * 8 * i * o for i, o in sizes)
    bwd = sum(2 * 8 * i * o for i, o in sizes) + sum(2 * 8 * i * o for i, o in sizes[1:])  # no grad for the input
    assert bench.step_flops(m, x, y) == fwd + bwd
    cfg = bench.BenchConfig(model="cnn", shape=(3, 8, 8), classes=3, batch=4, steps=1, warmup=1, repeats=1)
    res = bench.run(cfg, ["fp32+cl"], log=lambda *_: 0, peak_seconds=0.05)
    (row,) = res["rows"]
    assert row["masked_img_s"] > 0 and np.isfinite(row["mask_overhead"]) and abs(row["density"] - 0.2) < 0.01
    with pytest.raises(ValueError, match="variant"):
        bench.run(cfg, ["fp16"], log=lambda *_: 0)


def test_cli_runs_a_level_with_the_speed_options_and_records_them(tmp_path):
    import json

    from deep import run

    out = tmp_path / "digits-run"
    assert run.main(["--dataset", "digits", "--model", "cnn", "--method", "lrr", "--levels", "1", "--epochs", "1",
                     "--augment", "crop-flip", "--channels-last", "--batch", "256", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["train"]["augment"] == "crop-flip" and m["config"]["train"]["channels_last"] is True
    assert [round(r["density"], 2) for r in m["metrics"]] == [1.0, 0.8]
    with pytest.raises(SystemExit):
        run.parse_args(["--dataset", "digits", "--model", "cnn", "--precision", "fp16"])
