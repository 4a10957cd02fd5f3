"""Evaluations: run suites, see results, compare runs (built on the evals Python API)."""

from __future__ import annotations

import importlib.util

import streamlit as st


def render() -> None:
    st.title("Evaluations")
    if importlib.util.find_spec("evals.runs") is None:
        st.info("The evaluation runner is not installed in this build yet.")
        return
