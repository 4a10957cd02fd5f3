"""Tables and charts of evaluation runs, as plain data (tested without Streamlit)."""

from __future__ import annotations

import datetime
from typing import Any

from ragloom.evals.metrics import LOWER_IS_BETTER


def run_label(run: dict[str, Any]) -> str:
    when = datetime.datetime.fromtimestamp(run["created"]).strftime("%m-%d %H:%M")
    return f"{run['variant']} · {run['suite']} · {when} · {run['id'][-6:]}"


def runs_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"run": r["id"], "suite": r["suite"], "variant": r["variant"], "status": r["status"],
             "rows": r.get("row_count"), "created": datetime.datetime.fromtimestamp(
                 r["created"]).strftime("%Y-%m-%d %H:%M")} for r in runs]


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def summary_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per metric, one column per run: mean [95% interval] (scored n, N/A count)."""
    metrics = list(dict.fromkeys(m for r in runs for m in r["summary"]))
    table = []
    for m in metrics:
        row: dict[str, Any] = {"metric": m + (" (lower is better)" if m in LOWER_IS_BETTER else "")}
        for r in runs:
            s = r["summary"].get(m)
            if s is None:
                row[run_label(r)] = "not computed"
                continue
            ci = s.get("ci95")
            interval = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
            row[run_label(r)] = f"{_fmt(s['mean'])}{interval} (n={s['n']}, N/A={s['na']})"
        table.append(row)
    if any((r.get("usage") or {}).get("answers") for r in runs):
        from ragloom.core.models.usage import usage_line

        table.append({"metric": "tokens and estimated cost (answers; the judge not included)",
                      **{run_label(r): usage_line(r["usage"]) if (r.get("usage") or {}).get(
                          "answers") else "–" for r in runs}})
    return table


def bars_figure(runs: list[dict[str, Any]]) -> Any:
    """Grouped bars of each 0–1 metric's mean per run, with 95% bootstrap intervals."""
    import plotly.graph_objects as go

    metrics = [m for m in dict.fromkeys(m for r in runs for m in r["summary"])
               if m not in LOWER_IS_BETTER]
    fig = go.Figure()
    for r in runs:
        means, up, down = [], [], []
        for m in metrics:
            s = r["summary"].get(m) or {}
            mean, ci = s.get("mean"), s.get("ci95")
            means.append(mean)
            up.append(ci[1] - mean if ci and mean is not None else 0)
            down.append(mean - ci[0] if ci and mean is not None else 0)
        fig.add_bar(name=run_label(r), x=metrics, y=means,
                    error_y={"type": "data", "symmetric": False, "array": up, "arrayminus": down})
    fig.update_layout(barmode="group", yaxis={"range": [0, 1.05], "title": "mean"}, height=420,
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 30})
    return fig


def rows_table(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each row's question, answer and scores; N/A shows its reason, never a 0."""
    out = []
    for row in run["rows"]:
        item: dict[str, Any] = {"id": row["id"], "question": row["question"],
                                "answer": row.get("answer") or row.get("error") or "",
                                "trace": row.get("trace_id")}
        for m, score in (row.get("scores") or {}).items():
            value = score.get("value")
            item[m] = _fmt(value) if value is not None else f"N/A: {score.get('na') or '?'}"
        out.append(item)
    return out


def comparison_tables(cmp: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(per-metric deltas with intervals and verdicts, the rows that changed most)."""
    metrics = [{"metric": d.metric, "A": _fmt(d.mean_a), "B": _fmt(d.mean_b),
                "B − A": _fmt(d.delta),
                "95% interval": f"[{d.ci95[0]:+.3f}, {d.ci95[1]:+.3f}]" if d.ci95 else "–",
                "paired rows": d.paired, "verdict": d.verdict} for d in cmp.metrics]
    rows = [{"row": c.row_id, "question": c.question, "change": round(c.size, 3),
             "scores (A → B)": ", ".join(f"{m} {a:.2f}→{b:.2f}" for m, (a, b) in c.changes.items()),
             "answer A": c.answer_a or "", "answer B": c.answer_b or ""} for c in cmp.rows]
    return metrics, rows
