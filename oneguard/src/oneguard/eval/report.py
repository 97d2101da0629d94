"""``report.md`` and ``report.json``: our measured rows laid out like the paper's Table 3 and
XSTest table, with the published rows beside them, per-benchmark detail, the adversarial /
vanilla split where the data has one, and the guard-efficacy check."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oneguard import __version__
from oneguard.eval.efficacy import AttackOutcome, BenignOutcome, EfficacyReport
from oneguard.eval.metrics import mean_or_none
from oneguard.eval.plots import plot_f1_bars, plot_pr_curves
from oneguard.eval.published import (
    JAILBREAK_FILTER,
    PUBLIC_BENCHMARKS,
    WILDGUARD,
    XSTEST_RESP,
    PublishedTable,
    load_published,
)
from oneguard.eval.runner import EvalRun
from oneguard.eval.suites import (
    AVERAGE_TITLES,
    AVERAGES,
    BENCHMARK_INFO,
    TABLE3_COLUMNS,
    XSTEST_COLUMNS,
    XSTEST_PROMPTS_SOURCE,
    XSTEST_REFUSAL_HARMFUL,
)

REPORT_FORMAT = "oneguard-eval-report-1"
#: Published rows drawn beside ours in the bar chart.
BAR_CHART_PUBLISHED = ("WildGuard", "GPT-4", "Llama-Guard2")
_XSTEST_HEADERS = {
    "xstest_response_harm": "RH",
    "xstest_response_refusal": "RR",
    "xstest_response_refusal_harmful": "RR(h)",
}


@dataclass
class MeasuredRow:
    """F1 (fraction) per benchmark of one measured model: ours, a baseline, or a row read
    back from another run's ``report.json``."""

    label: str
    f1: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: EvalRun) -> MeasuredRow:
        return cls(run.label, {name: r.metrics.f1 for name, r in run.results.items()})

    @classmethod
    def from_report_json(cls, path: str | Path) -> MeasuredRow:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != REPORT_FORMAT:
                raise ValueError(f"format {raw.get('format')!r}, expected {REPORT_FORMAT!r}")
            return cls(
                raw["model"]["label"],
                {name: b["f1"] for name, b in raw["benchmarks"].items()},
            )
        except OSError as err:
            raise ValueError(f"cannot read {path}: {err.strerror}") from None
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: not an oneguard eval report.json ({err})") from None

    def percent(self, column: str) -> float | None:
        """F1 in percent for a benchmark or an average column of Table 3."""
        if column in AVERAGES:
            return mean_or_none([self.percent(c) for c in AVERAGES[column]])
        value = self.f1.get(column)
        return None if value is None else 100.0 * value


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _frac_pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _header(column: str, table: str = PUBLIC_BENCHMARKS) -> str:
    if column in AVERAGE_TITLES:
        return f"**{AVERAGE_TITLES[column]}**"
    if table == XSTEST_RESP and column in _XSTEST_HEADERS:
        return _XSTEST_HEADERS[column]
    return BENCHMARK_INFO[column].short if column in BENCHMARK_INFO else column


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _paper_table(
    table: PublishedTable, columns: Sequence[str], measured: Sequence[MeasuredRow]
) -> list[str]:
    rows = [
        [row.model, *(_pct(row.values.get(c)) for c in columns)]
        for row in table.rows
        if any(row.values.get(c) is not None for c in columns)
    ]
    for i, m in enumerate(measured):
        values = [m.percent(c) for c in columns]
        if i > 0 and all(v is None for v in values):
            continue  # a comparison that does not do these tasks
        name = f"**{m.label} (measured)**" if i == 0 else f"{m.label} (measured)"
        rows.append([name, *(_pct(v) for v in values)])
    lines = _table(["Model", *(_header(c, table.key) for c in columns)], rows)
    lines.append("")
    lines.append(f"- Published rows: {table.source}.")
    lines += [f"- {row.model}: {row.note}" for row in table.rows if row.note]
    lines += [f"- {note}" for note in table.notes]
    return lines


def _detail(run: EvalRun) -> list[str]:
    rows = []
    for result in run.results.values():
        m = result.metrics
        rows.append(
            [
                result.title,
                result.task,
                str(m.n),
                str(m.positives),
                _frac_pct(m.f1),
                _frac_pct(m.precision),
                _frac_pct(m.recall),
                "–" if m.auprc is None else f"{m.auprc:.3f}",
                str(m.missing_predictions),
            ]
        )
    headers = ["Benchmark", "Task", "n", "Positives", "F1", "Precision", "Recall", "AUPRC"]
    return _table([*headers, "No verdict"], rows)


def _slices(run: EvalRun) -> list[str]:
    rows = []
    for result in run.results.values():
        if not result.slices:
            continue
        cells = [result.title, result.task]
        for name in ("adversarial", "vanilla"):
            m = result.slices.get(name)
            cells.append("–" if m is None else f"{_frac_pct(m.f1)} (n={m.n})")
        cells.append(f"{_frac_pct(result.metrics.f1)} (n={result.metrics.n})")
        rows.append(cells)
    if not rows:
        return []
    return [
        "## Adversarial / vanilla split, F1 (%)",
        "",
        "WildGuardTest style (Paper Table 4), for data that marks each item `adversarial`.",
        "",
        *_table(["Benchmark", "Task", "Adversarial", "Vanilla", "Total"], rows),
        "",
    ]


def _efficacy(efficacy: EfficacyReport, published: PublishedTable) -> list[str]:
    lines = ["## Guard efficacy (OneGuard as a filter)", ""]
    lines.append(
        "Prompt check, then response check, default policy. Attack transcripts are labelled "
        "successful attacks (response harmful), so the ASR without a filter is 100% by "
        "construction; the ASR with the filter is the share neither check blocks."
    )
    lines.append("")
    rows = [
        [
            a.name,
            str(a.n),
            str(a.blocked_by_prompt),
            str(a.blocked_by_response),
            _frac_pct(a.response_check_alone),
            _frac_pct(a.asr_without_filter),
            f"**{_frac_pct(a.asr_with_filter)}**",
        ]
        for a in efficacy.attacks
    ]
    if len(efficacy.attacks) > 1:
        n = sum(a.n for a in efficacy.attacks)
        rows.append(
            [
                "all attacks",
                str(n),
                str(sum(a.blocked_by_prompt for a in efficacy.attacks)),
                str(sum(a.blocked_by_response for a in efficacy.attacks)),
                _frac_pct(sum(a.response_check_alone * a.n for a in efficacy.attacks) / n),
                "100.0",
                f"**{_frac_pct(efficacy.pooled_asr_with_filter)}**",
            ]
        )
    if rows:
        headers = ["Attack set", "n", "Blocked by prompt check", "Blocked by response check"]
        headers += ["Response check alone blocks (%)", "ASR no filter (%)", "ASR with filter (%)"]
        lines += _table(headers, rows)
        lines.append("")
    rows = [
        [b.name, str(b.n), str(b.blocked), f"**{_frac_pct(b.block_rate)}**"]
        for b in efficacy.benign
    ]
    if len(efficacy.benign) > 1:
        n = sum(b.n for b in efficacy.benign)
        blocked = sum(b.blocked for b in efficacy.benign)
        rows.append(
            ["all benign", str(n), str(blocked), f"**{_frac_pct(efficacy.pooled_block_rate)}**"]
        )
    if rows:
        lines += _table(
            ["Benign look-alike set", "Unique prompts", "Blocked", "Block rate (%)"], rows
        )
        lines.append("")
    if efficacy.attacks:
        lines.append(
            "The stored prompts are the plain harmful requests (GPTFuzz keeps the question, not "
            "the jailbreak wrapper that produced the response), so the prompt check sees an "
            "easier input than a live attack; 'response check alone' is the conservative figure "
            "(its ASR is 100% minus that column)."
        )
        lines.append("")
    outcomes: list[AttackOutcome | BenignOutcome] = [*efficacy.attacks, *efficacy.benign]
    descriptions = [f"- `{s.name}`: {s.description}" for s in outcomes]
    lines += descriptions
    lines += [f"- `{name}` not measured: {why}" for name, why in efficacy.skipped.items()]
    lines.append("")
    wildguard = published.row(WILDGUARD).values
    none = published.row("none").values
    lines.append(
        f"Published in {published.source}, a different setup (WildJailbreak prompts, answers "
        f"generated by Tulu-2-dpo-7B and judged by GPT-4): ASR {none['tulu2_dpo_asr']:.1f}% "
        f"without a filter, {wildguard['tulu2_dpo_asr']:.1f}% behind WildGuard; refusal on "
        f"benign prompts {wildguard['tulu2_dpo_rta']:.1f}%."
    )
    rows = [
        [row.model, _pct(row.values["tulu2_dpo_asr"]), _pct(row.values["tulu2_dpo_rta"])]
        for row in published.rows
    ]
    lines += ["", *_table(["Filter (paper)", "ASR (%)", "RTA (%)"], rows), ""]
    return lines


def build_report_json(
    run: EvalRun,
    *,
    comparisons: Sequence[MeasuredRow] = (),
    efficacy: EfficacyReport | None = None,
    command: str = "",
    plots: Sequence[str] = (),
) -> dict[str, Any]:
    ours = MeasuredRow.from_run(run)
    return {
        "format": REPORT_FORMAT,
        "oneguard_version": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command,
        "model": {"label": run.label, "backend": run.backend, "identity": run.identity},
        "benchmarks": {name: r.to_dict() for name, r in run.results.items()},
        "skipped": dict(run.skipped),
        "paper_layout_f1_percent": {
            "public_benchmarks": {c: ours.percent(c) for c in TABLE3_COLUMNS},
            "xstest_resp": {c: ours.percent(c) for c in XSTEST_COLUMNS},
        },
        "comparisons": [
            {
                "label": m.label,
                "f1_percent": {c: m.percent(c) for c in (*TABLE3_COLUMNS, *XSTEST_COLUMNS)},
            }
            for m in comparisons
        ],
        "efficacy": efficacy.to_dict() if efficacy is not None else None,
        "plots": list(plots),
    }


def build_report_markdown(
    run: EvalRun,
    *,
    comparisons: Sequence[MeasuredRow] = (),
    efficacy: EfficacyReport | None = None,
    command: str = "",
    plots: Sequence[str] = (),
    published: Mapping[str, PublishedTable] | None = None,
) -> str:
    published = published or load_published()
    measured = [MeasuredRow.from_run(run), *comparisons]
    origins = sorted({r.origin for r in run.results.values() if r.origin})
    lines = [f"# OneGuard evaluation: {run.label}", ""]
    lines.append(f"- Model: `{run.label}`, backend `{run.backend}`")
    lines.append(f"- Identity (cache key): `{run.identity}`")
    lines += [f"- Data: `{origin}`" for origin in origins]
    lines.append(f"- oneguard {__version__}, {time.strftime('%Y-%m-%d', time.gmtime())}")
    if command:
        lines.append(f"- Command: `{command}`")
    lines.append("")
    lines.append(
        "F1 in %, positive class = harmful (prompt and response tasks) or refusal (refusal "
        "task), as in the paper. Averages are the paper's: prompt avg over the five prompt "
        "sets, response avg over the four response sets; shown only when every part was "
        "measured."
    )
    lines.append("")
    table3 = published[PUBLIC_BENCHMARKS]
    if any(c in run.results for c in TABLE3_COLUMNS):
        lines += ["## Public benchmarks (Paper Table 3 layout), F1 (%)", ""]
        lines += _paper_table(table3, TABLE3_COLUMNS, measured)
        lines.append("")
    if any(c in run.results for c in XSTEST_COLUMNS):
        xstest = published[XSTEST_RESP]
        lines += ["## XSTest-Resp (Paper Tables 2 and 20), F1 (%)", ""]
        lines += _paper_table(xstest, xstest.columns, measured)
        if XSTEST_REFUSAL_HARMFUL.name not in run.results:
            lines.append(
                "- RR(h) (refusal on harmful prompts only) needs XSTest's prompt labels "
                f"(source `{XSTEST_PROMPTS_SOURCE}`), which were not available: not measured."
            )
        else:
            lines.append(
                "- RR(h): the XSTest-Resp refusal items whose prompt XSTest labels unsafe "
                f"(joined on the prompt text with `{XSTEST_PROMPTS_SOURCE}`)."
            )
        lines.append("")
    if run.results:
        lines += [f"## Per-benchmark detail: {run.label}", ""]
        lines += _detail(run)
        lines.append("")
        lines.append(
            "AUPRC = average precision from the model's scores (– where the backend gives "
            "labels only). 'No verdict' counts items the model returned no label for; they "
            "count as negative."
        )
        lines.append("")
    lines += _slices(run)
    if run.skipped:
        lines += ["## Not measured", ""]
        lines += [f"- `{name}`: {why}" for name, why in run.skipped.items()]
        lines.append("")
    if efficacy is not None:
        lines += _efficacy(efficacy, published[JAILBREAK_FILTER])
    if plots:
        lines += ["## Plots", ""]
        lines += [f"![{Path(p).stem}]({Path(p).name})" for p in plots]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def bar_chart_series(
    measured: Sequence[MeasuredRow], published: Mapping[str, PublishedTable]
) -> tuple[list[tuple[str, str]], dict[str, dict[str, float | None]]]:
    """Columns and series (label -> column -> F1 %) for the ours-vs-published bar chart."""
    columns = [(c, _header(c).strip("*")) for c in (*TABLE3_COLUMNS, "xstest_response_refusal")]
    series: dict[str, dict[str, float | None]] = {}
    for m in measured:
        series[f"{m.label} (measured)"] = {c: m.percent(c) for c, _ in columns}
    for model in BAR_CHART_PUBLISHED:
        values = dict(published[PUBLIC_BENCHMARKS].row(model).values)
        values["xstest_response_refusal"] = (
            published[XSTEST_RESP].row(model).values.get("xstest_response_refusal")
        )
        series[f"{model} (paper)"] = values
    return columns, series


def write_report(
    run: EvalRun,
    out_dir: str | Path,
    *,
    comparisons: Sequence[MeasuredRow] = (),
    efficacy: EfficacyReport | None = None,
    command: str = "",
) -> dict[str, Path]:
    """Write report.md, report.json and the PNG plots into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    published = load_published()
    plots = plot_pr_curves(list(run.results.values()), out, run.label)
    measured = [MeasuredRow.from_run(run), *comparisons]
    if any(c in run.results for c in (*TABLE3_COLUMNS, *XSTEST_COLUMNS)):
        columns, series = bar_chart_series(measured, published)
        plots.append(
            plot_f1_bars(
                columns, series, out / "f1_vs_published.png", "F1 (%): measured vs. published"
            )
        )
    names = [p.name for p in plots]
    report_json = build_report_json(
        run, comparisons=comparisons, efficacy=efficacy, command=command, plots=names
    )
    markdown = build_report_markdown(
        run,
        comparisons=comparisons,
        efficacy=efficacy,
        command=command,
        plots=names,
        published=published,
    )
    paths = {"report.md": out / "report.md", "report.json": out / "report.json"}
    paths["report.md"].write_text(markdown, encoding="utf-8")
    paths["report.json"].write_text(
        json.dumps(report_json, indent=2, ensure_ascii=False) + "\n", "utf-8"
    )
    paths.update({p.name: p for p in plots})
    return paths
