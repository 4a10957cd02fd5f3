"""One answer's trace, made readable: a timeline of the steps, each model call with the prompt it
was sent and what it answered, the chunks that were retrieved (text, what the scores mean, kept by
the grader or not, cited or not). Shared by the Traces page and the Ask page's "Why this answer?".
The rows come from ``ragloom.agents.trace_rows`` (the CLI's `ragloom trace ID` prints the same)."""

from __future__ import annotations

import datetime
from typing import Any

import streamlit as st

from ragloom.agents.trace_rows import SCORE_HELP, call_rows, chunk_rows, timeline_rows


def _timeline_chart(rows: list[dict[str, Any]]) -> None:
    import altair as alt

    chart = alt.Chart(alt.Data(values=rows)).mark_bar(cornerRadius=2).encode(
        x=alt.X("start_s:Q", title="seconds since the first step"), x2="end_s:Q",
        y=alt.Y("step:N", sort=None, title=None),
        tooltip=["step:N", "seconds:Q", "detail:N"])
    st.altair_chart(chart, width="stretch")


def render_trace_detail(trace: dict[str, Any]) -> None:
    when = datetime.datetime.fromtimestamp(trace["created"]).strftime("%Y-%m-%d %H:%M:%S")
    verdict = ("refused" if trace.get("refused") else "grounded" if trace.get("grounded")
               else "not grounded" if trace.get("grounded") is False else "not checked")
    st.caption(f"trace `{trace['id']}` · {when} · collection **{trace['collection']}** · graph "
               f"**{trace['graph']}** · route {trace.get('route') or '–'} · {verdict}")
    calls, chunks, steps = call_rows(trace), chunk_rows(trace), timeline_rows(trace)
    usage = trace.get("usage") or {}
    total = (trace.get("timings") or {}).get("total")
    m = st.columns(4)
    m[0].metric("Total", f"{total:.2f} s" if total is not None else "—")
    m[1].metric("Model calls", len(calls) or sum((trace.get("model_calls") or {}).values()))
    m[2].metric("Tokens", f"{usage.get('total_tokens', 0):,}")
    cost = usage.get("cost_usd")
    m[3].metric("Estimated cost", "not priced" if cost is None else f"${cost:.4f}")
    if steps:
        st.markdown("**Timeline**")
        _timeline_chart(steps)
        st.dataframe([{k: r[k] for k in ("step", "start_s", "seconds", "detail")} for r in steps],
                     hide_index=True, width="stretch")
    if calls:
        st.markdown("**Model calls**")
        for c in calls:
            tokens = (f"{c['prompt tokens']:,} + {c['completion tokens']:,} tokens"
                      if c["prompt tokens"] is not None else "tokens not counted by the provider")
            secs = f" · {c['seconds']:.2f} s" if c["seconds"] is not None else ""
            with st.expander(f"{c['n']}. {c['step']} · {c['model']} · {tokens}{secs}"):
                if not c["messages"]:
                    st.caption("The prompt was not recorded for this answer (older trace).")
                for msg in c["messages"]:
                    st.markdown(f"**{msg.get('role', '?')}**")
                    st.text(msg.get("content", ""))
                if c["completion"] is not None:
                    st.markdown("**completion**")
                    st.text(c["completion"])
    if chunks:
        st.markdown("**Retrieved chunks**")
        st.caption(SCORE_HELP)
        st.dataframe([{k: v for k, v in r.items() if k != "text"} for r in chunks],
                     hide_index=True, width="stretch")
        for r in chunks:
            marks = " · ".join(x for x, on in (("kept", r["kept"]), ("cited", r["cited"])) if on)
            with st.expander(f"{r['rank']}. {r['source']} (page {r['page']}) · score "
                             f"{r['score']}{' · ' + marks if marks else ''}"):
                st.text(r["text"] or "(text not recorded for this answer: older trace)")
    for sub in trace.get("sub_answers", []):
        st.markdown(f"**Sub-question:** {sub['question']}  \n{sub['answer']}")
