"""Evaluation: public data sets, retrieval metrics and benchmarks (Ragas suites come next)."""
