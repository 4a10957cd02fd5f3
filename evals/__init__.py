"""Evaluation: suites (Ragas and deterministic metrics per prompt version), runs, comparison,
reports, and the public data sets with retrieval benchmarks. See docs/evals.md."""
