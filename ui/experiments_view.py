"""The Prompts page's Experiments tab: split a prompt's traffic between versions, read the
per-variant report (rates with 95% intervals, latency, 👍, tokens and cost), stop it and promote
the winner through the Labels tab's gate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from ragloom.core.settings import Settings
from ragloom.ui.state import shown_errors


def _rate(r: dict[str, Any]) -> str:
    if r["value"] is None:
        return "–"
    ci = f" [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]" if r["ci95"] else ""
    return f"{r['value']:.2f}{ci} (n={r['n']})"


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per variant, as the CLI's `experiments report` prints it."""
    rows = []
    for v in report["variants"]:
        lat, usage = v["latency_s"], v["usage"]
        rows.append({
            "variant": f"{v['name']} ({v['ref']})", "weight": v["weight"], "answers": v["answers"],
            "refusals": _rate(v["refusal_rate"]), "citations valid": _rate(v["citations_valid"]),
            "grounded": _rate(v["grounded_rate"]),
            "latency s (median)": None if lat["median"] is None else round(lat["median"], 2),
            "👍 share": _rate(v["thumbs_up"]),
            "tokens / answer": round(usage["total_tokens"] / usage["answers"])
            if usage["answers"] else None,
            "cost $": usage["cost_usd"] if usage["answers"] else None})
    return rows


def experiments_tab(s: Settings, name: str,
                    promote: Callable[[int, str | None], None], gated: list[str]) -> None:
    """``promote(version, gate)`` moves the production label the way the Labels tab does."""
    from ragloom.evals.experiments import ExperimentStore, report

    store = ExperimentStore.for_settings(s)
    try:
        running = store.running(name)
        if running is None:
            _start(s, store, name)
        else:
            st.markdown(f"**Running:** experiment `{running.id}` on `{name}`")
            st.dataframe(report_rows(report(s, running.id)), hide_index=True)
            _stop(s, store, running, promote, gated)
        past = [e for e in store.list() if e.prompt == name and e.status != "running"]
        if past:
            with st.expander(f"Stopped experiments ({len(past)})"):
                chosen = st.selectbox("Experiment", past, key=f"pr-exp-past-{name}",
                                      format_func=lambda e: f"{e.id} · "
                                      + ", ".join(f"{v.name}={v.weight:g}" for v in e.variants))
                st.dataframe(report_rows(report(s, chosen.id)), hide_index=True)
    finally:
        store.close()


def _start(s: Settings, store: Any, name: str) -> None:
    from ragloom.evals.experiments import parse_variants
    from ragloom.prompts import prompt_store

    st.caption("Every question then gets one variant, sticky per conversation, recorded with "
               "its answer and trace.")
    specs = st.text_input("Variants (LABEL=WEIGHT or VERSION=WEIGHT, comma-separated)",
                          value="production=90, staging=10", key=f"pr-exp-variants-{name}")
    if st.button("Start experiment", key=f"pr-exp-start-{name}", type="primary"):
        with shown_errors("starting the experiment") as outcome:
            variants = parse_variants(name, [v.strip() for v in specs.split(",") if v.strip()])
            for v in variants:  # a variant that cannot be served fails now, not on a question
                prompt_store(s).checked(v.ref)
            exp = store.start(name, variants)
        if "error" in outcome:
            st.error(outcome["error"])
        else:
            st.toast(f"experiment {exp.id} started")
            st.rerun()


def _stop(s: Settings, store: Any, running: Any, promote: Callable[[int, str | None], None],
          gated: list[str]) -> None:
    from ragloom.prompts import prompt_store

    cols = st.columns(2)
    winner = cols[0].selectbox("Then promote to production", ["(nothing)",
                               *[v.name for v in running.variants]], key="pr-exp-winner")
    gate = cols[1].selectbox("through the gate of", ["(no gate)", *gated], key="pr-exp-gate")
    if st.button("Stop experiment", key="pr-exp-stop"):
        with shown_errors("stopping the experiment") as outcome:
            exp = store.stop(running.id)
            if winner != "(nothing)":
                ref = next(v.ref for v in exp.variants if v.name == winner)
                _, version = prompt_store(s).resolve(ref)
                promote(version, None if gate == "(no gate)" else gate)
        if "error" in outcome:
            st.error(outcome["error"])
        else:
            st.toast(f"experiment {running.id} stopped")
