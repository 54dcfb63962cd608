"""The sections of the study report, one module per section (or group of sections).

Each source module builds its part of the report in three steps, called in turn by the
assembler :func:`evaluation_pipeline.report.study_report.build_study_report`: its published
tables (``add_tables``: suppressed, added to the :class:`~.context.ReportContext` in the
order they are written), its figures (``figures``: name -> figure function and arguments) and
its section(s) of the HTML report (``section``/``sections``). ``context`` holds what they
share: the study's labels, the published tables and the figure previews.

``overview`` (design and data, validation, the effects table), ``logic_chain``, ``survey``,
``registry`` (with the parallel-trends sensitivity subsection), ``interviews`` and ``closing``
(methods and caveats).
"""
