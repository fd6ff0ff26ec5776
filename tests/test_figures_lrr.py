"""The paper-000 figures draw what the diagrams' fit steps saved: the quadrant caption, the phase-diagram caption
and the sign-change curves read deviations.json / flip_curves.json, and the figure modules import nothing of
sim but the two readers of saved results."""

import ast
from pathlib import Path

from figures.lrr_fig2a_sign_quadrants import deviation_note, quadrant_label
from figures.lrr_gd_sign_changes import drift_series, series
from figures.lrr_phase_diagrams import caption
from sim.lrr.diagrams import fit_deviations
from sim.lrr.sign_changes import flip_curves


def _row(method, successes, ci_low, predicted, quadrant="+-", d=10, trials=100):
    return {"cell": f"d{d}_q{quadrant}", "d": d, "n": 1000, "sigma": 0.1, "quadrant": quadrant, "method": method,
            "trials": trials, "successes": successes, "rate": successes / trials, "ci_low": ci_low,
            "predicted": predicted}


def _deviations(rows):
    return fit_deviations([], rows)["deviations.json"]


def test_labels_are_two_lines_and_the_note_appears_only_for_a_real_deviation():
    assert quadrant_label("+-") == "a(0)>0\nw1(0)<0"
    rows = [_row("imp", 52, 0.42, 0.0), _row("wr", 54, 0.44, 0.09), _row("imp-balanced", 0, 0.0, 0.0),
            _row("imp-balanced", 3, 0.01, 0.0, d=5)]
    note = deviation_note(_deviations(rows))
    assert note.startswith("IMP and WR above the prediction") and "succeeds in 3 of 200" in note
    assert deviation_note(_deviations([_row("imp", 1, 0.0, 0.0), _row("wr", 9, 0.05, 0.09)])) is None
    assert deviation_note(_deviations([_row("imp", 60, 0.5, 0.0, quadrant="++")])) is None


def test_phase_caption_counts_the_cells_above_the_prediction():
    assert caption(_deviations([_row("lrr", 50, 0.3, 0.5, "any"), _row("imp", 30, 0.2, 0.25, "any")])) == []
    lines = caption(_deviations([_row("lrr", 80, 0.6, 0.5, "any"), _row("imp", 30, 0.2, 0.25, "any")]))
    assert len(lines) == 1 and lines[0].startswith("* 1 LRR cell:") and "a = 0" in lines[0]
    lines = caption(_deviations([_row("lrr", 80, 0.6, 0.5, "any"), _row("imp", 50, 0.35, 0.25, "any", d=2),
                                 _row("imp", 50, 0.35, 0.2, "any", d=5)]))
    assert len(lines) == 2 and lines[1].startswith("* 2 IMP cells:") and "C2^-" in lines[1]


def test_gd_sign_change_series_are_fractions_per_step_size_sorted_by_time():
    def row(lr, steps, flipped, method="lrr", quadrant="-+", drift=-0.01):
        return {"method": method, "quadrant": quadrant, "lr": lr, "steps": steps, "time": lr * steps, "trials": 12,
                "a_flipped": flipped, "flip_ci_low": 0.0, "flip_ci_high": 0.5, "dense_drift_median": drift}
    rows = [row(2.0, 2000, 6), row(2.0, 400, 5, drift=-0.02), row(0.1, 8000, 0, drift=-0.001),
            row(2.0, 400, 9, method="imp"), row(2.0, 400, 3, quadrant="--")]
    s = series(flip_curves(rows), "lrr")
    assert list(s) == [0.1, 2.0]
    assert [p[0] for p in s[2.0]] == [800.0, 4000.0] and s[2.0][0][1] == 5 / 12 and s[0.1][0][1] == 0.0
    drift = drift_series(flip_curves(rows))
    assert drift == {400: [[2.0, 0.02]], 2000: [[2.0, 0.01]], 8000: [[0.1, 0.001]]}


def test_lrr_figures_read_saved_data_only():
    allowed = {("sim.core.sweep", "load_results"), ("sim.core.sweep", "read_summary")}
    for path in sorted(Path(__file__).resolve().parents[1].glob("figures/lrr_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sim":
                assert {(node.module, a.name) for a in node.names} <= allowed, path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "sim" for a in node.names), path.name
