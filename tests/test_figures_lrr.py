"""The paper-000 quadrant figure: readable labels and a caption line exactly when IMP/WR beat the theory."""

from figures.lrr_fig2a_sign_quadrants import deviation_note, quadrant_label


def _row(method, successes, ci_low, predicted, quadrant="+-"):
    return {"method": method, "quadrant": quadrant, "successes": str(successes), "trials": "100",
            "ci_low": str(ci_low), "predicted": str(predicted)}


def test_labels_are_two_lines_and_the_note_appears_only_for_a_real_deviation():
    assert quadrant_label("+-") == "a(0)>0\nw1(0)<0"
    rows = [_row("imp", 52, 0.42, 0.0), _row("wr", 54, 0.44, 0.09), _row("imp-balanced", 0, 0.0, 0.0)]
    note = deviation_note(rows)
    assert note.startswith("IMP and WR above the prediction") and "succeeds in 0 of 100" in note
    assert deviation_note([_row("imp", 1, 0.0, 0.0), _row("wr", 9, 0.05, 0.09)]) is None
    assert deviation_note([_row("imp", 60, 0.5, 0.0, quadrant="++")]) is None


def test_gd_sign_change_series_are_fractions_per_step_size_sorted_by_time():
    from figures.lrr_gd_sign_changes import series

    def row(lr, time, flipped, method="lrr", quadrant="-+"):
        return {"method": method, "quadrant": quadrant, "lr": str(lr), "time": str(time), "trials": "12",
                "a_flipped": str(flipped), "flip_ci_low": "0.0", "flip_ci_high": "0.5"}
    rows = [row(2, 4000, 6), row(2, 800, 5), row(0.1, 800, 0), row(2, 800, 9, method="imp"), row(2, 800, 3, quadrant="--")]
    s = series(rows, "lrr")
    assert list(s) == [0.1, 2.0]
    assert [p[0] for p in s[2.0]] == [800.0, 4000.0] and s[2.0][0][1] == 5 / 12 and s[0.1][0][1] == 0.0
