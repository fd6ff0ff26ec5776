import json

from theory.core import claims
from theory.core.claims import Outcome, Status
from theory.verify import main


def test_verify_writes_json_and_exits_zero(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["--only", "lrr.eq[56]", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    statuses = {c["id"]: c["status"] for c in data["claims"]}
    assert statuses == {"lrr.eq5": "fails as printed", "lrr.eq6": "verified"}
    assert "sympy" in data["versions"]
    assert "lrr.eq5" in capsys.readouterr().out


def test_a_broken_project_check_makes_verify_fail(tmp_path):
    registry = claims.load_all()
    registry["zz.broken"] = claims.Claim("zz.broken", "test", "none", "a check that fails",
                                         lambda: Outcome.require(False, "deliberately broken"))
    registry["zz.crash"] = claims.Claim("zz.crash", "test", "none", "a check that raises",
                                        lambda: 1 / 0)
    assert main(["--only", "zz.*"], registry=registry) == 1
    assert main(["--only", "lrr.eq6"], registry=registry) == 0
    assert "zz.broken" not in claims.load_all()  # the registered claims are untouched
    assert claims.run_claim(registry["zz.crash"]).status is Status.ERROR


def test_several_patterns_run_the_union(tmp_path):
    out = tmp_path / "v.json"
    assert main(["--only", "lrr.eq5", "--only", "lrr.eq6", "--json", str(out)]) == 0
    assert {c["id"] for c in json.loads(out.read_text())["claims"]} == {"lrr.eq5", "lrr.eq6"}


def test_unknown_pattern_is_a_clear_error(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--only", "nothing.matches"])
    assert "no claim id matches" in capsys.readouterr().err


def test_full_verify_has_no_project_failures(tmp_path):
    """The whole registry runs (as `python -m theory.verify` does) and nothing the project asserts fails."""
    assert main(["--json", str(tmp_path / "all.json")]) == 0


def test_a_finding_must_be_classed_and_the_class_is_reported():
    registry = {}
    wrong = lambda: Outcome.from_checks(False, True, "printed form fails", corrected="fixed")  # noqa: E731
    registry["zz.unclassed"] = claims.Claim("zz.unclassed", "test", "none", "unclassed finding", wrong)
    registry["zz.typo"] = claims.Claim("zz.typo", "test", "none", "a typo", wrong, finding="typo")
    assert claims.run_claim(registry["zz.unclassed"]).status is Status.BROKEN
    res = claims.run_claim(registry["zz.typo"])
    assert res.status is Status.FAILS_AS_PRINTED and res.as_dict()["finding"] == "typo"
    import pytest

    with pytest.raises(ValueError, match="finding must be one of"):
        claims.claim("zz.bad", "test", "none", "bad class", finding="oops")
