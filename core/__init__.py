"""Shared foundation: settings, errors, model providers and model artifacts."""
