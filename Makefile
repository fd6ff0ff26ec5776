# Every target creates (or reuses) .venv and installs the pinned CPU torch *before* anything that
# depends on torch, so pip never pulls the multi-GB CUDA build.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  := torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: setup run verify test test-all crosscheck figures report bench bench-deep gpu-check paper-zhang clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq $(TORCH)
	$(PY) -m pip install -qq -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: the LRR-vs-IMP phase diagram at quick scale (~1 min on 2 cores).  --resume makes a
# second `make run` reuse the finished results instead of refusing to overwrite them.
run: $(STAMP)
	$(PY) -m sim.phase_diagram --resume

verify: $(STAMP)
	$(PY) -m theory.verify --json results/theory/verify.json

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

# Every headline verdict of paper_repro.md against a second computation that does not share the code path
# that decides it (another trainer, estimator, locator, the population limit), at reduced size.
crosscheck: $(STAMP)
	$(PY) -m pytest -q -m crosscheck tests/crosscheck

# Data first (every registered diagram at quick scale; finished folders are reused, so this is cheap once the
# data exist), then every figure drawn from the saved data only.
figures: $(STAMP)
	$(PY) -m sim.phase_diagram --all --scale quick --no-figure --no-progress > /dev/null
	MPLBACKEND=Agg $(PY) -m figures.build

# One self-contained HTML file (results/report/report.html): per paper the summary table of paper_repro.md,
# every theory claim (run here, ~15-40 s), every registered diagram's saved results with its figures inline.
report: $(STAMP)
	MPLBACKEND=Agg $(PY) -m figures.report

bench: $(STAMP)
	$(PY) -m theory.bench
	$(PY) -m sim.bench

# Training-step throughput of deep/ (ResNet-18, CIFAR-shaped): images/s, masking overhead, FLOP utilisation.
bench-deep: $(STAMP)
	$(PY) -m deep.bench

# On a CUDA machine (< 8 min): the sparse AGD engine's throughput, a paper-scale zhang-fig4 sample (time per cell,
# the diagram extrapolated), over-parameterized GD steps/s and deep.bench, in one JSON + log under
# results/gpu_check/<UTC time>.  `python -m sim.gpu_check --dry-run` checks the script on a CPU in < 1 min.
gpu-check: $(STAMP)
	$(PY) -m sim.gpu_check

# Paper 001's paper-scale rows (Figs. 2, 5, 4 and the cap check of Fig. 2), hours on 2 CPU cores; each command
# finishes or reuses its own folder under figures/data/sim, which git tracks (per-run scalars, small), so running
# this again, on this machine or on a fresh clone, continues where a stop left off.
paper-zhang: $(STAMP)
	$(PY) -m sim.phase_diagram --diagram zhang-fig2 --scale paper --trials 20 --root figures/data --no-progress
	$(PY) -m sim.phase_diagram --diagram zhang-fig5 --scale paper --root figures/data --no-progress
	$(PY) -m sim.phase_diagram --diagram zhang-fig2-cap --scale paper --rs 300 --lams 1,8 --trials 3 --caps 10000,50000 --root figures/data --no-progress
	$(PY) -m sim.phase_diagram --diagram zhang-fig2-cap --scale paper --rs 500 --lams 1,8 --trials 3 --caps 10000,50000 --root figures/data --no-progress
	$(PY) -m sim.phase_diagram --diagram zhang-fig4 --scale paper --root figures/data --no-progress

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
