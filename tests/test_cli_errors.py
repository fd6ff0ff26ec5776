"""Every command-line entry point ends a user error with one line on stderr that names the option or file,
exit code 2, no traceback, and leaves an existing results folder as it was."""

import hashlib

import pytest
import torch

from sim import bench, phase_diagram
from theory import verify


def _exit(main, argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _tree_digest(folder):
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != ".lock"):
        h.update(str(f.relative_to(folder)).encode() + f.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """A finished results folder that no bad command may touch."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    assert phase_diagram.main(["--diagram", "lrr-fig2a-gd", "--workers", "1", "--no-progress", "--out", str(out)]) == 0
    return out


def _cases(existing, tmp):
    a_file = tmp / "a_file.txt"
    a_file.write_text("x")
    return [
        (phase_diagram.main, ["--workers", "0", "--out", str(existing)], "--workers"),
        (phase_diagram.main, ["--workers", "two", "--out", str(existing)], "--workers"),
        (phase_diagram.main, ["--scale", "huge", "--out", str(existing)], "--scale"),
        (phase_diagram.main, ["--seed", "x", "--out", str(existing)], "--seed"),
        (phase_diagram.main, ["--diagram", "lrr-fig2", "--out", str(existing)], "did you mean lrr-fig2a"),
        (phase_diagram.main, ["--diagram", "lrr-fig2a-gd", "--device", "tpu", "--out", str(existing)], "device"),
        (phase_diagram.main, ["--diagram", "lrr-fig2a-gd", "--seed", "5", "--workers", "1", "--no-progress",
                              "--out", str(existing)], "differs in: seed"),
        (phase_diagram.main, ["--diagram", "lrr-fig2a-gd", "--out", str(a_file)], "is a file"),
        (phase_diagram.main, ["--diagram", "lrr-fig2a-gd", "--out", str(a_file / "sub")], "not a writable folder"),
        (bench.main, ["--reference-trials", "0"], "--reference-trials"),
        (bench.main, ["--trials", "-3"], "--trials"),
        (bench.main, ["--json", str(tmp)], "is a folder"),
        (bench.main, ["--json", str(a_file / "out.json")], "not a folder"),
        (bench.main, ["--suite", "nope"], "--suite"),
        (bench.main, ["--threads", "0"], "--threads"),
        (verify.main, ["--json", str(tmp)], "is a folder"),
        (verify.main, ["--json", str(a_file / "v.json")], "not a folder"),
        (verify.main, ["--only", "no.such.claim*"], "no claim id matches"),
    ] + ([(bench.main, ["--device", "cuda", "--suite", "lrr"], "--device cuda")] if not torch.cuda.is_available() else [])


def test_bad_values_give_one_line_exit_2_and_leave_results_alone(existing, tmp_path, capsys):
    before = _tree_digest(existing)
    for main, argv, word in _cases(existing, tmp_path):
        code = _exit(main, argv)
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, (argv, code, err)
        assert len(lines) == 1, (argv, err)
        assert word in lines[0], (argv, lines[0])
        assert "Traceback" not in err
    assert _tree_digest(existing) == before


def test_the_same_command_again_reuses_its_folder_and_says_so_and_the_table_explains_its_columns(existing, capsys):
    assert phase_diagram.main(["--diagram", "lrr-fig2a-gd", "--workers", "1", "--no-progress", "--out", str(existing)]) == 0
    captured = capsys.readouterr()
    assert "reusing them" in captured.err
    legend = captured.out.split("\ncolumns:\n", 1)[1]
    for col in ("quadrant", "predicted", "mask_correct", "dense_w1_flips"):
        assert any(line.split()[0] == col for line in legend.splitlines() if line.strip()), col


def test_deep_run_bad_values_give_one_line_exit_2(tmp_path, capsys):
    from deep import run

    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    base = ["--dataset", "digits", "--model", "mlp", "--epochs", "1", "--levels", "1"]
    cases = [
        (["--dataset", "digits"], "--dataset and --model are required"),
        (base + ["--lr", "nan"], "--lr"),
        (base + ["--n-train", "0"], "--n-train"),
        (base + ["--levels", "-1"], "--levels"),
        (base + ["--keep", "abc"], "--keep"),
        (base + ["--method", "wr", "--rewind-epoch", "5", "--epochs", "2"], "--rewind-epoch 5 must be smaller"),
        (base + ["--perturb-level", "3"], "--perturb-level 3 is not a pruning level"),
        (base + ["--out", str(a_file)], "is a file"),
        (["--preset", "cifar10-resnet18", "--levels", "0"], "--data-root"),
        (base + ["--method", "nope"], "--method"),
    ]
    for argv, word in cases:
        code = _exit(run.main, argv)
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1 and word in lines[0], (argv, code, err)
        assert "Traceback" not in err


def test_deep_bench_bad_values_give_one_line_exit_2(tmp_path, capsys):
    from deep import bench as dbench

    for argv, word in [(["--repeats", "0"], "--repeats"), (["--density", "2"], "--density"),
                       (["--shape", "3,x"], "--shape"), (["--out", str(tmp_path)], "is a folder")]:
        code = _exit(dbench.main, argv)
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2 and len(lines) == 1 and word in lines[0], (argv, code, err)


def test_deep_run_help_shows_every_option_with_its_default(capsys):
    from deep import run

    assert _exit(run.main, ["--help"]) == 0
    out = capsys.readouterr().out
    for opt in ("--levels", "--keep", "--rewind-epoch", "--lr", "--n-train", "--out", "--resume"):
        assert opt in out
    assert "(default 0.8)" in out and "L + 1 rows" in out
