"""figures.report: the HTML report from a tiny fake results tree, the real registry and real claim results."""

from __future__ import annotations

import base64
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from figures import report

ROOT = Path(__file__).resolve().parent.parent
FAST_CLAIMS = ("lrr.reduction", "lrr.eq4", "lrr.eq13", "xudu.toy3.equal", "zhang.thm2.rates")


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG, written by hand (no plotting library)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([200, 30, 30] * width) for _ in range(height))
    return (report.PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def fake_folder(results: Path, name: str, scale: str, header: list[str], rows: list[list[str]], pngs=("a.png",)):
    folder = results / "sim" / f"{name}-{scale}-seed0"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({
        "diagram": name, "scale": scale, "seed": 0, "git_commit": "feedc0ffee" * 4, "created": "2026-01-02T03:04:05",
        "finished": "2026-01-02T03:05:06", "device": "cpu", "cell_git_commit": {"c0": "feedc0ffee" * 4}}))
    (folder / "summary.csv").write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")
    for png in pngs:
        (folder / png).write_bytes(tiny_png())
    return folder


@pytest.fixture(scope="module")
def fast_verify(tmp_path_factory) -> Path:
    """Real theory.verify output for a few fast claims (one of each finding class among them)."""
    from theory.core.claims import load_all, run_claim

    path = tmp_path_factory.mktemp("verify") / "verify.json"
    claims = load_all()  # theory.verify --only takes one glob: the same run_claim / as_dict, for these five
    path.write_text(json.dumps({"claims": [run_claim(claims[c]).as_dict() for c in FAST_CLAIMS], "versions": {}}))
    return path


@pytest.fixture
def fake_results(tmp_path) -> Path:
    results = tmp_path / "results"
    # one diagram at both scales (paper must win), one with a hostile cell and a long table, one with two figures
    fake_folder(results, "lrr-fig2a", "quick", ["cell", "rate"], [["q", "0.5"]], pngs=("quick-only.png",))
    fake_folder(results, "lrr-fig2a", "paper", ["cell", "rate"], [["p", "0.25"]], pngs=("quadrants.png",))
    fake_folder(results, "zhang-fig3", "quick", ["cell", "note", "rate"],
                [[f"r{k}", "<script>alert(1)</script> & \"x\"" if k == 0 else "plain", f"{0.123456789 * k}"]
                 for k in range(120)], pngs=("fig3.png",))
    fake_folder(results, "xudu-rates", "quick", ["n", "slope"], [["1", "-0.1"], ["2", "-3.0"]],
                pngs=("phases.png", "slowdown.png"))
    (results / "deep").mkdir()
    return results


def imgs(page: str) -> list[str]:
    return re.findall(r'<img src="data:image/png;base64,([^"]*)"', page)


def test_summary_tables_parse_with_the_expected_columns():
    tables = report.parse_summary_tables((ROOT / "paper_repro.md").read_text())
    assert [t.paper for t in tables] == ["000", "001", "002"]
    for t in tables:
        assert t.columns == ["claim", "verdict", "key number", "second computation"]
        assert t.rows and all(len(r) == 4 for r in t.rows)
    verdicts = {report.plain(v) for t in tables for v in t.column("verdict")}
    assert "partly" in verdicts and "reproduced" in verdicts
    nr = [r["claim"] for t in tables for r in report.not_reproduced(t)]
    assert "Fig. 2(a): LRR succeeds in (+,-), IMP fails" in nr
    assert "n = 1: linear rate" not in nr  # reproduced
    assert all(report.is_not_reproduced(r["verdict"]) for t in tables for r in report.not_reproduced(t))


def test_summary_parser_escapes_and_rejects():
    md = ("# x\n\n## Summary (today)\n\n**Paper 000 (A & B).**\n\n"
          "| claim | verdict | key number | second computation |\n"
          "|---|---|---|---|\n| eq. <1> a \\| b | **partly** | x < 2 & `y` | z |\n| ok | reproduced | 1 | 2 |\n\n"
          "## Paper 000\n| not | in | the | summary |\n|---|---|---|---|\n")
    (t,) = report.parse_summary_tables(md)
    assert t.heading == "Paper 000 (A & B)" and t.rows[0][0] == "eq. <1> a | b"
    assert [r["claim"] for r in report.not_reproduced(t)] == ["eq. <1> a | b"]
    cell = report.md_inline(t.rows[0][2])
    assert cell == "x &lt; 2 &amp; <code>y</code>"
    assert report.md_inline("**partly** <b>") == "<strong>partly</strong> &lt;b&gt;"
    with pytest.raises(ValueError, match="Summary"):
        report.parse_summary_tables("# nothing\n")
    with pytest.raises(ValueError, match="cells"):
        report.parse_summary_tables(md.replace("| ok | reproduced | 1 | 2 |", "| ok | reproduced |"))


def test_report_from_a_fake_results_tree(fake_results, fast_verify, tmp_path, tiny_diagram):
    from sim.core import registry
    from theory.core.claims import load_all

    tiny = tiny_diagram("lrr-fig2a", registry.get("lrr-fig2a").scales["quick"])  # a test- diagram: skipped
    fake_folder(fake_results, tiny, "quick", ["cell"], [["x"]])

    out = tmp_path / "out" / "report.html"
    assert report.main(["--out", str(out), "--results", str(fake_results), "--verify-json", str(fast_verify),
                        "--max-rows", "30"]) == 0
    page = out.read_text()
    names = [n for n in registry.load_all() if not n.startswith("test-")]
    for name in names:
        assert f'id="dg-{name}"' in page, name
    for name in set(names) - {"lrr-fig2a", "zhang-fig3", "xudu-rates"}:
        assert f"not run here: <code>python -m sim.phase_diagram --diagram {name}</code>" in page
    assert tiny.startswith("test-") and tiny in registry.load_all() and tiny not in page
    # every registered claim appears; those the JSON lacks say so, those it has carry their real status
    claims = load_all()
    for cid in claims:
        assert f'id="claim-{cid}"' in page, cid
    assert page.count("not in the verify JSON: ") == len(claims) - len(FAST_CLAIMS)
    assert "fails as printed (error)" in page and "fails as printed (gap)" in page
    # papers in order, each with its sections
    pos = [page.index(f'<section id="paper-{p}">') for p in report.PAPERS]
    assert pos == sorted(pos)
    assert page.count("What was not reproduced and why") == 3
    assert page.index('id="dg-lrr-fig2a"') < pos[1] < page.index('id="dg-zhang-fig3"') < pos[2] < \
        page.index('id="dg-xudu-rates"')
    assert page.index('id="claim-zhang.thm2.rates"') > pos[1] and page.index('id="claim-xudu.toy3.equal"') > pos[2]
    # images: the paper-scale folder wins over quick; every payload is a real PNG
    payloads = imgs(page)
    assert len(payloads) == page.count("<img ") == 4
    for p in payloads:
        assert p and base64.b64decode(p, validate=True).startswith(report.PNG_SIGNATURE)
    assert "lrr-fig2a-paper-seed0/quadrants.png" in page and "quick-only.png" not in page
    assert "scale <strong>paper</strong>" in page and "feedc0ffee" in page
    # escaping of a summary.csv cell, compact numbers, truncation of a long table
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in page
    assert "<td>0.1235</td>" in page
    assert "showing the first 30 of 120 rows" in page
    assert "not run here (no <code>" in page  # no deep runs in the fake tree


def test_cli_errors(tmp_path, fast_verify):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit) as exc:
        report.main(["--max-rows", "0"])
    assert exc.value.code == 2
    assert report.main(["--verify-json", str(bad), "--out", str(tmp_path / "r.html")]) == 2
    assert report.main(["--verify-json", str(tmp_path / "missing.json"), "--out", str(tmp_path / "r.html")]) == 2
    assert not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_full_verify_json_every_claim_with_its_status(fake_results, tmp_path):
    """The real ``python -m theory.verify --json`` output (all claims, ~15-40 s): every claim is in the report
    with its status, none missing."""
    from theory.core.claims import load_all

    vj = tmp_path / "verify.json"
    subprocess.run([sys.executable, "-m", "theory.verify", "--json", str(vj)], cwd=ROOT, check=True,
                   capture_output=True)
    out = tmp_path / "report.html"
    assert report.main(["--out", str(out), "--results", str(fake_results), "--verify-json", str(vj)]) == 0
    page = out.read_text()
    results = {c["id"]: c for c in json.loads(vj.read_text())["claims"]}
    for cid in load_all():
        row = re.search(rf'<tr id="claim-{re.escape(cid)}">.*?</tr>', page, re.S)
        assert row, cid
        assert report.esc(results[cid]["status"]) in row.group(0)
    assert "not in the verify JSON" not in page
