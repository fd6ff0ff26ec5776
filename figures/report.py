"""``make report``: one self-contained HTML file with everything the toolkit has checked and run.

    python -m figures.report [--out results/report/report.html] [--verify-json FILE] [--results results]

Per paper (000, 001, 002, in that order), generated from saved files only, never edited by hand:

* the paper's summary table from the "Summary" section of ``paper_repro.md`` (the hand-curated verdicts);
* every theory claim (``lrr.*``, ``zhang.*``, ``xudu.*``): id, the paper's reference, statement, status (with the
  finding class for "fails as printed"), detail and corrected form, from ``python -m theory.verify --json``
  output (``--verify-json``) or, without it, from running the claims here (about 15-40 s);
* every registered diagram (``lrr-*``, ``zhang-*``, ``xudu-*``; names starting with ``test-`` are skipped):
  title, paper reference, the results folder it was read from (``results/sim/<name>-<scale>-seed0``, the
  paper scale preferred) with the scale, commit and dates of its manifest, its ``summary.csv`` as a compact
  table (long tables truncated, with a note), its saved PNGs inline as base64 data URIs and its small JSON
  files (fits) folded; a diagram without saved results says how to run it;
* paper 000 also gets the deep-network runs of ``deep.run`` (``results/deep``): the runs, the seed summaries
  of ``deep.summary`` and the figure of :mod:`figures.deep_lrr_imp`, drawn from the saved runs;
* "what was not reproduced and why": the summary rows whose verdict is partly / differs / not possible here.

Every text taken from a file is HTML-escaped; the only markup kept from ``paper_repro.md`` is ``**bold**``
and ```code```.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAPERS = ("000", "001", "002")
CLAIM_PREFIXES = {"lrr.": "000", "zhang.": "001", "xudu.": "002"}
DIAGRAM_PREFIXES = {"lrr-": "000", "zhang-": "001", "xudu-": "002"}
NOT_REPRODUCED = ("partly", "differs", "not possible here")
MAX_ROWS = 40
MAX_JSON_CHARS = 4000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------- parsing
@dataclass
class SummaryTable:
    """One paper's table of the "Summary" section of paper_repro.md."""

    paper: str  # "000"
    heading: str  # the bold line above the table, without the asterisks
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def column(self, name: str) -> list[str]:
        k = self.columns.index(name)
        return [row[k] for row in self.rows]


def _split_row(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` is a literal bar inside a cell)."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def parse_summary_tables(markdown: str) -> list[SummaryTable]:
    """The tables of the ``## Summary`` section, each with the paper number of the bold line above it
    (``**Paper 000 (...).**``).  Raises ValueError when the section, a paper heading or a table is missing."""
    lines = markdown.splitlines()
    start = next((i for i, ln in enumerate(lines) if re.match(r"##\s+Summary\b", ln)), None)
    if start is None:
        raise ValueError("no '## Summary' section")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"##\s", lines[i])), len(lines))
    tables: list[SummaryTable] = []
    heading = paper = None
    i = start + 1
    while i < end:
        line = lines[i].strip()
        m = re.fullmatch(r"\*\*(Paper\s+(\d{3})\b.*?)\*\*", line)
        if m:
            heading, paper = m.group(1).rstrip(".").strip(), m.group(2)
            i += 1
            continue
        if line.startswith("|"):
            block = []
            while i < end and lines[i].strip().startswith("|"):
                block.append(_split_row(lines[i]))
                i += 1
            if paper is None:
                raise ValueError(f"a summary table (line {i - len(block) + 1}) has no '**Paper NNN ...**' line "
                                 "above it")
            if len(block) < 2 or not _is_separator(block[1]):
                raise ValueError(f"the summary table of paper {paper} has no header separator")
            columns = block[0]
            rows = block[2:]
            for row in rows:
                if len(row) != len(columns):
                    raise ValueError(f"paper {paper}: row {row[0]!r} has {len(row)} cells, the header {len(columns)}")
            tables.append(SummaryTable(paper, heading, columns, rows))
            heading = paper = None
            continue
        i += 1
    if not tables:
        raise ValueError("the '## Summary' section holds no table")
    return tables


def plain(markdown_cell: str) -> str:
    """A cell without its markdown emphasis (for matching verdicts)."""
    return re.sub(r"[*`_]", "", markdown_cell).strip()


def is_not_reproduced(verdict: str) -> bool:
    v = plain(verdict).lower()
    return any(v.startswith(word) for word in NOT_REPRODUCED)


def not_reproduced(table: SummaryTable) -> list[dict[str, str]]:
    """The rows of a summary table whose verdict is partly / differs / not possible here."""
    k = table.columns.index("verdict")
    return [dict(zip(table.columns, row)) for row in table.rows if is_not_reproduced(row[k])]


def paper_of(name: str, prefixes: dict[str, str]) -> str:
    """The paper ("000", ...) a claim id or diagram name belongs to, by its prefix; "other" when none fits."""
    for prefix, paper in prefixes.items():
        if name.startswith(prefix):
            return paper
    return "other"


def read_csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def compact_number(text: str) -> str:
    """Floats to 4 significant digits; everything else unchanged."""
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][-+]?\d+)", text.strip()):
        try:
            return f"{float(text):.4g}"
        except ValueError:
            return text
    return text


# ------------------------------------------------------------------------------------------- rendering
def esc(text) -> str:
    return html.escape(str(text), quote=True)


def md_inline(text: str) -> str:
    """Escape, then render ``**bold**`` and ```code``` (the only markup of the summary tables)."""
    out = esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def html_table(columns: list[str], rows: list[list[str]], max_rows: int | None = None, cell=esc,
               note_where: str = "", css: str = "") -> str:
    """A table; beyond ``max_rows`` rows the rest is left out with a note saying how many and where."""
    shown = rows if max_rows is None or len(rows) <= max_rows else rows[:max_rows]
    head = "".join(f"<th>{cell(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in shown)
    out = f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>'
    if len(shown) < len(rows):
        out += (f'<p class="note">truncated: showing the first {len(shown)} of {len(rows)} rows'
                + (f"; the full table is {esc(note_where)}" if note_where else "") + ".</p>")
    return out


def png_data_uri(data: bytes) -> str:
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def img_tag(path: Path, caption: str = "") -> str:
    uri = png_data_uri(Path(path).read_bytes())
    cap = esc(caption or Path(path).name)
    return f'<figure><img src="{uri}" alt="{cap}"><figcaption>{cap}</figcaption></figure>'


def status_cell(claim: dict) -> str:
    status = claim.get("status", "")
    finding = claim.get("finding", "")
    css = {"verified": "ok", "verified (numeric)": "ok", "fails as printed": "finding"}.get(status, "problem")
    text = f"{status} ({finding})" if finding else status
    return f'<span class="{css}">{esc(text)}</span>'


def render_claims(claims: list[dict]) -> str:
    head = "".join(f"<th>{c}</th>" for c in ("id", "reference", "statement", "status", "detail", "corrected"))
    rows = []
    for c in claims:
        if c.get("missing"):
            rows.append(f'<tr id="claim-{esc(c["id"])}"><td><code>{esc(c["id"])}</code></td><td>{esc(c["ref"])}</td>'
                        f'<td>{esc(c["statement"])}</td><td colspan="3" class="problem">not in the verify JSON: '
                        f'<code>python -m theory.verify --only {esc(c["id"])}</code></td></tr>')
            continue
        rows.append(f'<tr id="claim-{esc(c["id"])}"><td><code>{esc(c["id"])}</code></td><td>{esc(c["ref"])}</td>'
                    f'<td>{esc(c["statement"])}</td><td>{status_cell(c)}</td><td class="detail">{esc(c["detail"])}</td>'
                    f'<td class="detail">{esc(c.get("corrected", ""))}</td></tr>')
    return f'<table class="claims"><thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


# ------------------------------------------------------------------------------------------ diagrams
def results_folder(results: Path, name: str, scales) -> Path | None:
    """``<results>/sim/<name>-<scale>-seed0`` holding a summary.csv: paper scale first, quick last."""
    scales = list(scales)
    order = (["paper"] if "paper" in scales else []) + [s for s in scales if s not in ("paper", "quick")] + \
        (["quick"] if "quick" in scales else [])
    for scale in order:
        folder = Path(results) / "sim" / f"{name}-{scale}-seed0"
        if (folder / "summary.csv").is_file():
            return folder
    return None


def _provenance_line(manifest: dict, folder: Path) -> str:
    commit = str(manifest.get("git_commit", "unknown"))
    cell_commits = set((manifest.get("cell_git_commit") or {}).values())
    cells = ""
    if cell_commits - {commit}:
        cells = f"; its cells come from {len(cell_commits)} commits: " + ", ".join(sorted(c[:10] for c in cell_commits))
    parts = [f"scale <strong>{esc(manifest.get('scale', '?'))}</strong>", f"seed {esc(manifest.get('seed', '?'))}",
             f"commit <code>{esc(commit[:10] + ('+dirty' if commit.endswith('+dirty') else ''))}</code>{esc(cells)}",
             f"created {esc(manifest.get('created', '?'))}", f"finished {esc(manifest.get('finished', '?'))}",
             f"device {esc(manifest.get('device', '?'))}"]
    return f'<p class="prov">results: <code>{esc(folder)}</code> ({", ".join(parts)})</p>'


def render_diagram(name: str, diagram, results: Path, max_rows: int = MAX_ROWS) -> tuple[str, int, bool]:
    """(html, number of images, whether saved results were found)."""
    out = [f'<div class="diagram" id="dg-{esc(name)}"><h4><code>{esc(name)}</code>: {esc(diagram.title)}</h4>',
           f'<p class="ref">paper reference: {esc(diagram.paper)}</p>']
    folder = results_folder(results, name, diagram.scales)
    if folder is None:
        out.append(f'<p class="notrun">not run here: <code>python -m sim.phase_diagram --diagram {esc(name)}</code>'
                   "</p></div>")
        return "\n".join(out), 0, False
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as exc:
        manifest = {}
        out.append(f'<p class="problem">manifest.json unreadable: {esc(exc)}</p>')
    out.append(_provenance_line(manifest, folder))
    columns, rows = read_csv_rows(folder / "summary.csv")
    rows = [[compact_number(c) for c in row] for row in rows]
    out.append(html_table(columns, rows, max_rows, note_where=f"in {folder / 'summary.csv'}", css="summary"))
    legend = getattr(diagram, "legend", None) or {}
    if legend:
        out.append('<details class="legend"><summary>columns</summary><dl>' + "".join(
            f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in legend.items()) + "</dl></details>")
    n_img = 0
    pngs = sorted(folder.glob("*.png"))
    for png in pngs:
        try:
            out.append(img_tag(png, f"{folder.name}/{png.name}"))
            n_img += 1
        except (OSError, ValueError) as exc:
            out.append(f'<p class="problem">{esc(png.name)}: {esc(exc)}</p>')
    if not pngs:
        out.append('<p class="note">no figure saved in the results folder'
                   + ("" if diagram.figure else " (the diagram names no figure)") + ".</p>")
    for js in sorted(p for p in folder.glob("*.json") if p.name != "manifest.json"):
        text = js.read_text()
        more = ""
        if len(text) > MAX_JSON_CHARS:
            more = f"\n... truncated: {len(text)} characters in all, see {js}"
            text = text[:MAX_JSON_CHARS]
        out.append(f"<details><summary>{esc(js.name)}</summary><pre>{esc(text + more)}</pre></details>")
    out.append("</div>")
    return "\n".join(out), n_img, True


# ------------------------------------------------------------------------------------------------ deep
def render_deep(deep_root: Path, max_rows: int = MAX_ROWS) -> tuple[str, int]:
    """Paper 000 Sec. 3: the saved deep.run runs, the deep.summary files and figures.deep_lrr_imp's figure."""
    from deep import methods

    deep_root = Path(deep_root)
    out = ['<div class="diagram" id="deep"><h4>Deep networks (paper 000 Sec. 3): saved <code>deep.run</code> runs</h4>']
    runs = sorted(deep_root.glob("*/metrics.json"))
    if not runs:
        out.append(f'<p class="notrun">not run here (no <code>{esc(deep_root)}/*/metrics.json</code>): '
                   '<code>python -m deep.run --dataset mnist1d --model cnn --method lrr --levels 10</code></p></div>')
        return "\n".join(out), 0
    rows = []
    for f in runs:
        try:
            m = json.loads(f.read_text())
            cfg = m.get("config", {})
            last = (m.get("metrics") or [{}])[-1]
            cycle = methods.cycle_record(cfg.get("cycle", {}))
            method = methods.label(cycle["rewind"], cycle["mask"]) if {"rewind", "mask"} <= set(cycle) else "?"
            rows.append([f.parent.name, cfg.get("dataset", "?"), cfg.get("model", "?"), method, str(cfg.get("seed", "?")),
                         str(cfg.get("cycle", {}).get("levels", "?")), compact_number(str(last.get("density", ""))),
                         compact_number(str(last.get("test_acc", "")))])
        except (OSError, ValueError, AttributeError) as exc:
            rows.append([f.parent.name, f"unreadable: {exc}", "", "", "", "", "", ""])
    out.append(f"<p>{len(runs)} runs under <code>{esc(deep_root)}</code>.</p>")
    out.append(html_table(["run", "dataset", "model", "method", "seed", "levels", "last density", "last test acc"],
                          rows, max_rows, note_where=f"under {deep_root}", css="summary"))
    for sj in sorted(deep_root.glob("*-summary.json")):
        try:
            out.append(_deep_summary(sj))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.append(f'<p class="problem">{esc(sj.name)}: cannot read it ({esc(exc)})</p>')
    n_img = 0
    try:
        from figures import deep_lrr_imp

        with tempfile.TemporaryDirectory() as tmp:
            with _quiet():
                pngs = [p for p in deep_lrr_imp.main(Path(tmp), deep_root) if Path(p).suffix == ".png"]
            for png in pngs:
                out.append(img_tag(png, f"figures.deep_lrr_imp: {Path(png).name}"))
                n_img += 1
    except Exception as exc:  # the figure script is someone else's: say what failed, keep the rest of the report
        print(f"figures.report: the deep figure failed: {exc!r}", file=sys.stderr)
        out.append(f'<p class="problem">figures.deep_lrr_imp failed: {esc(repr(exc))}</p>')
    out.append("</div>")
    return "\n".join(out), n_img


class _quiet:
    """Silence a figure script's prints on stdout (the report prints its own lines)."""

    def __enter__(self):
        self._old, sys.stdout = sys.stdout, io.StringIO()

    def __exit__(self, *exc):
        sys.stdout = self._old


def _deep_summary(path: Path) -> str:
    s = json.loads(path.read_text())
    methods = list(s["methods"])
    cols = ["level", "density"] + [f"{m} acc (mean ± sd)" for m in methods] + [f"{m} flips" for m in methods]
    rows = []
    for k, level in enumerate(s["levels"]):
        row = [str(level), f"{s['density'][k]:.4g}"]
        row += [f"{s['methods'][m]['test_acc'][k]['mean']:.4f} ± {s['methods'][m]['test_acc'][k]['sd']:.4f}"
                for m in methods]
        row += [f"{s['methods'][m]['flips_from_init'][k]['mean']:.3f}" for m in methods]
        rows.append(row)
    out = [f"<h5><code>{esc(path.name)}</code> (<code>python -m deep.summary</code>)</h5>"]
    if s.get("data_note"):
        out.append(f'<p class="note">{esc(s["data_note"])}</p>')
    out.append(html_table(cols, rows, css="summary"))
    pooled = []
    for key, d in (s.get("differences") or {}).items():
        p = d.get("test_acc_pooled_levels_1_to_L", {})
        st = p.get("sign_test_over_level_seed_pairs", {})
        t95 = p.get("t95_of_per_seed_means") or ["", ""]
        pooled.append([key, str(p.get("n", "")), f"{p.get('mean', float('nan')):.4f}",
                       f"[{t95[0]:.4f}, {t95[1]:.4f}]" if all(isinstance(x, (int, float)) for x in t95) else "",
                       f"{st.get('positive', '')} / {st.get('negative', '')} / {st.get('ties', '')}",
                       f"{st.get('p_two_sided', float('nan')):.3g}"])
    if pooled:
        out.append(html_table(["difference", "seeds", "mean over levels 1..L", "t95 of per-seed means",
                               "(level, seed) pairs + / - / tie", "sign test p"], pooled, css="summary"))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------- claims
def run_claims() -> dict:
    """What ``python -m theory.verify --json`` writes, computed here."""
    from theory.core.claims import load_all, run_claim

    registered = list(load_all().values())
    tty = sys.stderr.isatty()
    claims = []
    for k, c in enumerate(registered):
        claims.append(run_claim(c).as_dict())
        if tty:
            print(f"\r  claim {k + 1}/{len(registered)} {c.id:30s}", end="", file=sys.stderr, flush=True)
    print(("\r" if tty else "") + f"ran {len(claims)} theory claims", file=sys.stderr)
    return {"claims": claims, "source": "run by figures.report"}


def claims_by_paper(verify: dict, registered: dict) -> dict[str, list[dict]]:
    """Every registered claim, in registry order, with its verify result; a claim the JSON lacks is marked
    ``missing``; a claim of the JSON that is no longer registered is kept (after the registered ones)."""
    results = {c["id"]: c for c in verify.get("claims", [])}
    out: dict[str, list[dict]] = {}
    for cid, c in registered.items():
        entry = results.get(cid) or {"id": cid, "ref": c.ref, "statement": c.statement, "missing": True}
        out.setdefault(paper_of(cid, CLAIM_PREFIXES), []).append(entry)
    for cid, entry in results.items():
        if cid not in registered:
            out.setdefault(paper_of(cid, CLAIM_PREFIXES), []).append(entry)
    return out


# ---------------------------------------------------------------------------------------------- report
CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222;line-height:1.35}
h2{border-bottom:2px solid #444;margin-top:2em} h3{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:.5em 0} th,td{border:1px solid #ccc;padding:2px 5px;
vertical-align:top;text-align:left} th{background:#f0f0f0} table.summary td{white-space:nowrap}
td.detail{font-size:11px;max-width:420px} .ok{color:#176b17} .finding{color:#a15c00;font-weight:bold}
.problem{color:#b00;font-weight:bold} .notrun{color:#b00} .note{color:#666;font-size:12px} .prov{font-size:12px}
.diagram{border-left:3px solid #ddd;padding-left:.8em;margin:1.5em 0} img{max-width:100%;border:1px solid #eee}
figure{margin:.5em 0} figcaption{font-size:11px;color:#666} pre{font-size:11px;background:#f7f7f7;padding:.5em;
overflow-x:auto} code{font-size:90%} nav li{margin:.1em 0}
"""


@dataclass
class Report:
    html: str
    images: int
    diagrams_run: list[str]
    diagrams_not_run: list[str]


def build(results: Path, repro_md: Path, verify: dict, diagrams: dict | None = None, claims: dict | None = None,
          deep_root: Path | None = None, max_rows: int = MAX_ROWS, verify_source: str = "") -> Report:
    """The whole report as a string (pure apart from reading the saved files)."""
    if diagrams is None:
        from sim.core import registry

        diagrams = registry.load_all()
    if claims is None:
        from theory.core.claims import load_all

        claims = load_all()
    results = Path(results)
    deep_root = Path(deep_root) if deep_root is not None else results / "deep"
    tables = {t.paper: t for t in parse_summary_tables(Path(repro_md).read_text())}
    by_paper_claims = claims_by_paper(verify, claims)
    by_paper_dg: dict[str, list[str]] = {}
    for name in diagrams:
        if not name.startswith("test-"):
            by_paper_dg.setdefault(paper_of(name, DIAGRAM_PREFIXES), []).append(name)
    papers = list(PAPERS) + sorted((set(by_paper_claims) | set(by_paper_dg) | set(tables)) - set(PAPERS))

    from sim.core.provenance import git_commit

    n_img, run, not_run = 0, [], []
    body, nav = [], []
    for paper in papers:
        table = tables.get(paper)
        heading = table.heading if table else f"Paper {paper}"
        nav.append(f'<li><a href="#paper-{esc(paper)}">{md_inline(heading)}</a></li>')
        sec = [f'<section id="paper-{esc(paper)}"><h2>{md_inline(heading)}</h2>']
        sec.append("<h3>Summary (from paper_repro.md)</h3>")
        if table:
            sec.append(html_table(table.columns, table.rows, cell=md_inline))
        else:
            sec.append('<p class="note">no summary table for this paper in paper_repro.md.</p>')
        pc = by_paper_claims.get(paper, [])
        counts: dict[str, int] = {}
        for c in pc:
            key = "not in the verify JSON" if c.get("missing") else (
                f"{c['status']} ({c['finding']})" if c.get("finding") else c["status"])
            counts[key] = counts.get(key, 0) + 1
        sec.append(f"<h3>Theory claims ({len(pc)})</h3>")
        if pc:
            sec.append('<p class="note">' + esc(", ".join(f"{v} {k}" for k, v in counts.items())) + "</p>")
            sec.append(render_claims(pc))
        else:
            sec.append('<p class="note">no theory claims registered for this paper.</p>')
        names = by_paper_dg.get(paper, [])
        sec.append(f"<h3>Simulations ({len(names)} registered diagrams)</h3>")
        for name in names:
            text, k, found = render_diagram(name, diagrams[name], results, max_rows)
            sec.append(text)
            n_img += k
            (run if found else not_run).append(name)
        if paper == "000":
            text, k = render_deep(deep_root, max_rows)
            sec.append(text)
            n_img += k
        sec.append("<h3>What was not reproduced and why</h3>")
        missing = not_reproduced(table) if table else []
        if missing:
            sec.append('<ul class="notrepro">' + "".join(
                f"<li><strong>{md_inline(r['claim'])}</strong>: {md_inline(r['verdict'])}; "
                f"{md_inline(r.get('key number', ''))}</li>" for r in missing) + "</ul>")
        else:
            sec.append("<p>Every summary row of this paper is reproduced or verified.</p>")
        nr = [n for n in names if n in not_run]
        if nr:
            sec.append("<p>Registered diagrams without saved results here: " +
                       ", ".join(f"<code>{esc(n)}</code>" for n in nr) + ".</p>")
        sec.append("</section>")
        body.append("\n".join(sec))

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    src = verify_source or verify.get("source", "")
    versions = verify.get("versions") or {}
    head = [f"<p>Generated {esc(stamp)} by <code>python -m figures.report</code> at commit "
            f"<code>{esc(git_commit())}</code> from <code>{esc(results)}</code>, <code>{esc(repro_md)}</code> and the "
            f"theory claims ({esc(src or 'verify JSON')}"
            + (", " + esc(", ".join(f"{k} {v}" for k, v in versions.items())) if versions else "") + ").</p>",
            f"<p>{len(run)} diagrams with saved results, {len(not_run)} not run here; {n_img} figures.</p>"]
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Pruning-theory toolkit: report</title>"
            f"<style>{CSS}</style></head><body>\n<h1>Pruning-theory toolkit: report</h1>\n" + "\n".join(head)
            + "\n<nav><ul>" + "".join(nav) + "</ul></nav>\n" + "\n".join(body) + "\n</body></html>\n")
    return Report(page, n_img, run, not_run)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from theory.core.cli import Parser, fail, output_file, positive_int

    parser = Parser(prog="python -m figures.report", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=output_file, default=Path("results/report/report.html"), help="the HTML file")
    parser.add_argument("--verify-json", metavar="FILE", type=Path,
                        help="output of python -m theory.verify --json (default: run the claims here)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results root (sim/, deep/)")
    parser.add_argument("--repro", type=Path, default=ROOT / "paper_repro.md", help="paper_repro.md")
    parser.add_argument("--max-rows", type=positive_int, default=MAX_ROWS, help="rows shown of a summary.csv")
    args = parser.parse_args(argv)
    if not args.repro.is_file():
        return fail(parser.prog, f"--repro {args.repro}: no such file")
    if args.verify_json is not None:
        try:
            verify = json.loads(args.verify_json.read_text())
        except (OSError, ValueError) as exc:
            return fail(parser.prog, f"--verify-json {args.verify_json}: cannot read it ({exc})")
        if not isinstance(verify, dict) or not isinstance(verify.get("claims"), list):
            return fail(parser.prog, f"--verify-json {args.verify_json}: not a theory.verify --json file (no 'claims')")
        source = f"from {args.verify_json}"
    else:
        verify, source = run_claims(), "run by figures.report"
    try:
        report = build(args.results, args.repro, verify, max_rows=args.max_rows, verify_source=source)
    except ValueError as exc:
        return fail(parser.prog, f"{args.repro}: {exc}")
    from sim.core.folders import atomic_write_bytes

    atomic_write_bytes(args.out, report.html.encode("utf-8"))
    print(f"wrote {args.out} ({len(report.html.encode()) / 1e6:.1f} MB, {report.images} figures, "
          f"{len(report.diagrams_run)} diagrams with results, {len(report.diagrams_not_run)} not run here"
          + (": " + ", ".join(report.diagrams_not_run) if report.diagrams_not_run else "") + ")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
