"""Throughput of one pruning level's training step (the cost that 20 levels x 150 epochs multiply).

    python -m deep.bench                                  # ResNet-18 on CIFAR-shaped data, this machine
    python -m deep.bench --device cuda --variants fp32,bf16,bf16+cl,bf16+cl+compile
    make bench-deep

For every variant (``fp32``, ``bf16`` autocast, ``+cl`` channels-last, ``+compile`` torch.compile) it times the
exact training step of :func:`deep.train.make_step` -- resident data, crop-and-flip augmentation on the
device, forward, backward, SGD -- on the dense network and on the same network pruned to ``--density``
(the masked step adds one fused multiply over the prunable weights).  Dense and masked blocks alternate for
``--repeats`` rounds and the median block is reported, so both see the same machine state.

Printed and saved (``--out``, JSON with the configuration, device, versions and git commit): images/s dense
and masked, the masking overhead (target: <= 5 % over dense), model FLOPs per step (forward + backward,
counted by ``torch.utils.flop_counter``), achieved TFLOP/s, and the model FLOP utilisation against the peak
measured on this device by a large matmul (bf16 on CUDA, fp32 on the CPU) and, on an H100, against its
nominal dense bf16 peak (~790 TFLOP/s measured in practice, the issue's reference).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from deep import masks as mk, models
from deep.data import Data
from deep.train import TrainConfig, make_optimizer, make_step, prepare
from sim.core.folders import atomic_write_json
from theory.core.cli import Parser, fail, output_file, positive_int

H100_BF16_TFLOPS = 790.0


@dataclass(frozen=True)
class BenchConfig:
    model: str = "resnet18"
    shape: tuple[int, ...] = (3, 32, 32)
    classes: int = 10
    batch: int = 256
    steps: int = 20
    warmup: int = 5
    repeats: int = 3
    density: float = 0.2
    device: str = "cpu"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, seconds: float = 2.0) -> tuple[float, str]:
    """Measured dense matmul TFLOP/s (bf16 8192^2 on CUDA, fp32 2048^2 on the CPU) and its dtype."""
    n, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (2048, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
        if device.type == "cuda" and reps % 10:
            continue
        sync(device)
    sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e12, str(dtype).replace("torch.", "")


def step_flops(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Forward + backward FLOPs of one step (matmuls and convolutions), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        torch.nn.functional.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def variant_config(name: str) -> TrainConfig:
    parts = name.split("+")
    if parts[0] not in ("fp32", "bf16") or not set(parts[1:]) <= {"cl", "compile"}:
        raise ValueError(f"variant {name!r}: expected fp32 or bf16, optionally +cl and/or +compile")
    return TrainConfig(epochs=1, lr=0.05, batch=1, augment="crop-flip", precision=parts[0],
                       channels_last="cl" in parts, compile="compile" in parts)


def bench_variant(cfg: BenchConfig, variant: str, log=print) -> dict:
    device = torch.device(cfg.device)
    tcfg = variant_config(variant)
    torch.manual_seed(0)
    model = models.build(cfg.model, cfg.shape, cfg.classes).to(device)
    n = cfg.batch * 4
    g = torch.Generator().manual_seed(0)
    data = Data("synthetic", torch.randn(n, *cfg.shape, generator=g).to(device),
                torch.randint(0, cfg.classes, (n,), generator=g).to(device), torch.zeros(1, *cfg.shape),
                torch.zeros(1, dtype=torch.long), cfg.classes, "random CIFAR-shaped tensors")
    xf, yf = data.probe(cfg.batch)
    flops = step_flops(model, xf, yf)
    net = prepare(model, tcfg)
    opt = make_optimizer(model, tcfg)
    dense_step = make_step(model, net, opt, None, tcfg)
    masks = mk.magnitude_prune(model, mk.full_masks(model), cfg.density)
    mk.apply_(model, masks)
    masked_step = make_step(model, net, opt, masks, tcfg)
    agen = torch.Generator().manual_seed(1)

    def stream():  # epochs of the resident data, augmented on the device as training draws them
        while True:
            yield from data.train_batches(torch.randperm(n, generator=g), cfg.batch, "crop-flip", agen)

    batches = stream()

    def block(step, count) -> float:
        sync(device)
        t0 = time.perf_counter()
        for x, y in itertools.islice(batches, count):
            step(x, y, 0.05)
        sync(device)
        return (time.perf_counter() - t0) / count

    t_compile = time.perf_counter()
    block(dense_step, cfg.warmup)
    block(masked_step, cfg.warmup)
    t_compile = time.perf_counter() - t_compile
    dense, masked = [], []
    for r in range(cfg.repeats):
        dense.append(block(dense_step, cfg.steps))
        masked.append(block(masked_step, cfg.steps))
        log(f"  {variant}: round {r + 1}/{cfg.repeats}: dense {dense[-1] * 1e3:.1f} ms/step, "
            f"masked {masked[-1] * 1e3:.1f} ms/step")
    td, tm = statistics.median(dense), statistics.median(masked)
    return {"variant": variant, "dense_ms": td * 1e3, "masked_ms": tm * 1e3, "dense_img_s": cfg.batch / td,
            "masked_img_s": cfg.batch / tm, "mask_overhead": tm / td - 1, "step_gflop": flops / 1e9,
            "dense_tflops": flops / td / 1e12, "warmup_s": t_compile,
            "density": mk.density(masks), "dense_rounds_ms": [t * 1e3 for t in dense],
            "masked_rounds_ms": [t * 1e3 for t in masked]}


def run(cfg: BenchConfig, variants: list[str], log=print, peak_seconds: float = 2.0) -> dict:
    for v in variants:
        variant_config(v)  # fail fast on a bad name
    device = torch.device(cfg.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    threads = torch.get_num_threads()
    log(f"# deep.bench: {cfg.model} on {cfg.shape}, batch {cfg.batch}, {name} ({threads} CPU threads)")
    peak, peak_dtype = matmul_peak(device, peak_seconds)
    log(f"measured matmul peak: {peak:.2f} TFLOP/s ({peak_dtype})")
    rows = [bench_variant(cfg, v, log) for v in variants]
    for r in rows:
        r["mfu_measured_peak"] = r["dense_tflops"] / peak
        if "H100" in name:
            r["mfu_h100_790"] = r["dense_tflops"] / H100_BF16_TFLOPS
    log(f"{'variant':<18}{'dense img/s':>12}{'masked img/s':>13}{'overhead':>10}{'GFLOP/step':>12}"
        f"{'TFLOP/s':>9}{'MFU':>8}")
    for r in rows:
        log(f"{r['variant']:<18}{r['dense_img_s']:>12.1f}{r['masked_img_s']:>13.1f}{r['mask_overhead']:>9.1%}"
            f"{r['step_gflop']:>12.1f}{r['dense_tflops']:>9.3f}{r['mfu_measured_peak']:>8.1%}")
    from sim.core.provenance import git_commit, versions

    return {"config": asdict(cfg), "device_name": name, "cpu_threads": threads, "peak_tflops": peak,
            "peak_dtype": peak_dtype, "rows": rows, "versions": versions(), "git_commit": git_commit()}


def main(argv=None) -> int:
    p = Parser(prog="python -m deep.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="resnet18", choices=models.MODELS)
    p.add_argument("--shape", default="3,32,32", help="input shape, comma-separated (CIFAR: 3,32,32)")
    p.add_argument("--classes", type=positive_int, default=10)
    p.add_argument("--batch", type=positive_int, default=None, help="default 256 on CUDA, 32 on the CPU")
    p.add_argument("--steps", type=positive_int, default=None, help="timed steps per block (default 20 CUDA, 3 CPU)")
    p.add_argument("--warmup", type=positive_int, default=None)
    p.add_argument("--repeats", type=positive_int, default=3)
    p.add_argument("--density", type=float, default=0.2, help="fraction of weights left in the masked network")
    p.add_argument("--device", default="auto", help="auto: cuda if available, else cpu")
    p.add_argument("--variants", default=None,
                   help="comma-separated, from fp32, bf16, bf16+cl, bf16+cl+compile (default: all four on CUDA, "
                        "fp32 on the CPU)")
    p.add_argument("--out", type=output_file, default=None, help="JSON file (default results/bench/deep-<device>.json)")
    a = p.parse_args(argv)
    device = "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        p.error("--device cuda asked for, but torch sees no CUDA device here")
    if not 0 < a.density <= 1:
        p.error("--density must be in (0, 1]")
    cuda = device.startswith("cuda")
    try:
        shape = tuple(int(s) for s in a.shape.split(","))
    except ValueError:
        p.error(f"--shape must be comma-separated integers, got {a.shape!r}")
    cfg = BenchConfig(model=a.model, shape=shape, classes=a.classes, batch=a.batch or (256 if cuda else 32),
                      steps=a.steps or (20 if cuda else 3), warmup=a.warmup or (5 if cuda else 1),
                      repeats=a.repeats, density=a.density, device=device)
    variants = (a.variants.split(",") if a.variants else
                ["fp32", "bf16", "bf16+cl", "bf16+cl+compile"] if cuda else ["fp32"])
    try:
        result = run(cfg, variants)
    except ValueError as e:
        p.error(str(e))
    out = a.out or Path("results/bench") / f"deep-{'cuda' if cuda else 'cpu'}.json"
    try:
        atomic_write_json(out, result)
    except OSError as exc:
        return fail(p.prog, f"--out {out}: cannot write it ({exc.strerror or exc})")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
