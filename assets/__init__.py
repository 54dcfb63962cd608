"""The Dagster code location of the evaluation pipeline. Thin: each asset calls
``evaluation_pipeline`` and attaches metadata; no statistics are computed here."""
