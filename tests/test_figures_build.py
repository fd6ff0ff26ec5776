"""figures.build picks the folder to draw: the paper scale (default folder, then changed-field variants, newest
first), else the quick scale; it never simulates."""

import os
import time

from figures.build import saved_folder


def _folder(root, name):
    f = root / name
    f.mkdir(parents=True)
    (f / "summary.csv").write_text("a\n1\n")
    return f


def test_paper_then_variants_then_quick(tmp_path):
    assert saved_folder("zhang-fig2", (tmp_path,)) is None
    quick = _folder(tmp_path, "zhang-fig2-quick-seed0")
    assert saved_folder("zhang-fig2", (tmp_path,)) == quick
    old = _folder(tmp_path, "zhang-fig2-paper-seed0-aaaa0000")
    new = _folder(tmp_path, "zhang-fig2-paper-seed0-bbbb1111")
    t = time.time()
    os.utime(old / "summary.csv", (t - 100, t - 100))
    assert saved_folder("zhang-fig2", (tmp_path,)) == new
    (tmp_path / "zhang-fig2-paper-seed0-cccc2222").mkdir()  # unfinished: no summary
    assert saved_folder("zhang-fig2", (tmp_path,)) == new
    paper = _folder(tmp_path, "zhang-fig2-paper-seed0")
    assert saved_folder("zhang-fig2", (tmp_path,)) == paper
    assert saved_folder("zhang-fig", (tmp_path,)) is None  # a name is not a prefix match


def test_this_machines_results_before_the_tracked_archive_at_each_step(tmp_path):
    """results/sim (this machine) and figures/data/sim (kept by git): a paper folder in either beats any quick one,
    and at the same step this machine's folder wins."""
    here, kept = tmp_path / "results", tmp_path / "archive"
    quick = _folder(here, "zhang-fig4-quick-seed0")
    assert saved_folder("zhang-fig4", (here, kept)) == quick
    archived = _folder(kept, "zhang-fig4-paper-seed0")
    assert saved_folder("zhang-fig4", (here, kept)) == archived
    local = _folder(here, "zhang-fig4-paper-seed0")
    assert saved_folder("zhang-fig4", (here, kept)) == local
    assert saved_folder("zhang-fig4", (kept, here)) == archived
