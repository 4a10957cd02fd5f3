"""A self-contained HTML report of one or more runs: per-metric bars with 95% intervals, a
per-row scatter (first run against each other run), and the summary tables. plotly.js is
inlined once, so the file opens offline in any browser."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ragloom.core.settings import Settings
from ragloom.evals.metrics import LOWER_IS_BETTER
from ragloom.evals.runs import get_run
from ragloom.evals.summary import metric_values

_STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.na{color:#999}"""


def _label(run: dict[str, Any]) -> str:
    return f"{run['variant']} ({run['id'][-6:]})"


def _bars(runs: list[dict[str, Any]], metrics: list[str]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for run in runs:
        means, lo, hi = [], [], []
        for m in metrics:
            s = run["summary"][m]
            mean = s["mean"]
            means.append(mean)
            ci = s["ci95"] or (mean, mean)
            lo.append(None if mean is None else mean - ci[0])
            hi.append(None if mean is None else ci[1] - mean)
        fig.add_bar(name=_label(run), x=metrics, y=means,
                    error_y={"type": "data", "symmetric": False, "array": hi, "arrayminus": lo})
    fig.update_layout(title="Per-metric means with 95% bootstrap intervals (0-1 metrics)",
                      barmode="group", yaxis={"range": [0, 1.05]}, height=450)
    return fig


def _scatter(base: dict[str, Any], other: dict[str, Any], metrics: list[str]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    questions = {r["id"]: r["question"] for r in base["rows"]}
    for m in metrics:
        a, b = metric_values(base["rows"], m), metric_values(other["rows"], m)
        shared = [rid for rid in a if rid in b]
        if shared:
            fig.add_scatter(x=[a[r] for r in shared], y=[b[r] for r in shared], mode="markers",
                            name=m, text=[f"{r}: {questions.get(r, '')[:80]}" for r in shared],
                            marker={"size": 10, "opacity": 0.7})
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot", "color": "#888"})
    fig.update_layout(title=f"Per-row scores: {_label(base)} (x) vs {_label(other)} (y); "
                      "above the diagonal = better in y", height=500,
                      xaxis={"range": [-0.05, 1.05]}, yaxis={"range": [-0.05, 1.05]})
    return fig


def _table(runs: list[dict[str, Any]], metrics: list[str]) -> str:
    head = "".join(f"<th>{html.escape(_label(r))}</th>" for r in runs)
    lines = [f"<table><tr><th>metric</th>{head}</tr>"]
    for m in metrics:
        cells = []
        for r in runs:
            s = r["summary"][m]
            if s["mean"] is None:
                cells.append(f"<td class=na>N/A ({s['na']})</td>")
                continue
            ci = f" [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]" if s["ci95"] else ""
            na = f" <span class=na>+{s['na']} N/A</span>" if s["na"] else ""
            cells.append(f"<td>{s['mean']:.3f}{ci} n={s['n']}{na}</td>")
        lines.append(f"<tr><td>{html.escape(m)}</td>{''.join(cells)}</tr>")
    return "\n".join(lines) + "</table>"


def _runs_info(runs: list[dict[str, Any]]) -> str:
    items = []
    for r in runs:
        c = r["config"]
        items.append(f"<li><b>{html.escape(r['id'])}</b>: suite {html.escape(r['suite'])}, "
                     f"variant {html.escape(r['variant'])}, status {r['status']}, "
                     f"{r['row_count']} rows, prompts {html.escape(str(c.get('prompts')))}, "
                     f"graph {html.escape(str(c.get('graph')))}, models "
                     f"{html.escape(str(c.get('models')))}, commit {c.get('commit')}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def write_html_report(settings: Settings, run_ids: list[str], path: Path) -> Path:
    """Write the report for ``run_ids`` (the first is the baseline of the scatter plots)."""
    runs = [get_run(settings, rid) for rid in run_ids]
    metrics = [m for m in runs[0]["config"]["metrics"]
               if all(m in r["config"]["metrics"] for r in runs)]
    bounded = [m for m in metrics if m not in LOWER_IS_BETTER]
    figures = [_bars(runs, bounded)] + [_scatter(runs[0], other, bounded) for other in runs[1:]]
    plots = [fig.to_html(full_html=False, include_plotlyjs=(i == 0))
             for i, fig in enumerate(figures)]
    title = f"ragloom eval report: {', '.join(sorted({r['suite'] for r in runs}))}"
    page = (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"{_runs_info(runs)}{_table(runs, metrics)}{''.join(plots)}</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
