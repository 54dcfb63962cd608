"""evaluation_pipeline: the library behind the evaluation pipeline.

Pure functions on pandas DataFrames: reading landing files (``ingest``), the study model
(``study``), kommune geography (``geography``), privacy (``privacy``), analyses (``analysis``)
and reports (``report``). It never imports dagster; the Dagster layer lives in ``assets``.
"""

__version__ = "0.1.0"
