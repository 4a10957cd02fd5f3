"""Agentic RAG: LangGraph graphs, their nodes and routing, citations, traces, the ask() service."""
