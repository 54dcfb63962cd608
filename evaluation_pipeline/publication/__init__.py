"""Publication control: what every published table, figure and text hides (issue 24).

``cells`` holds the cell-suppression engine -- primary and secondary suppression of a
frequency table with its margins (:func:`suppress`) -- and the informed attacker who checks a
published table (:func:`hidden_intervals`, :func:`recoverable_cells`,
:func:`unprotected_cells`). ``rules`` holds the rule for each kind of published table: small
cells of rows, Effect rows, scale means, item distributions, survey response, panel retention,
theme × role counts, the logic chain's evidence, the kommune profiles' rates and survey n,
and (``ties``) the collaboration network's tie tables and network measures.
(Personal-data screening of the data read is :mod:`evaluation_pipeline.privacy`.)

The public names are exported here, imported on first use.
"""

from .._lazy import lazy_exports

#: exported name -> the module (relative to this package) that defines it
_EXPORTS = {
    # the engine and its attacker
    "TOTAL": ".cells",
    "DisclosureError": ".cells",
    "suppress": ".cells",
    "hidden_intervals": ".cells",
    "recoverable_cells": ".cells",
    "unprotected_cells": ".cells",
    # the rules of each published table
    "EFFECT_VALUE_COLUMNS": ".rules",
    "suppress_small_cells": ".rules",
    "suppress_effects": ".rules",
    "suppress_scale_means": ".rules",
    "suppress_item_distributions": ".rules",
    "suppress_response": ".rules",
    "suppress_retention": ".rules",
    "suppress_theme_role": ".rules",
    "suppress_logic_chain": ".rules",
    "publishable_tables": ".rules",
    "suppress_rates": ".rules",
    "survey_n_published": ".rules",
    "suppress_ties": ".ties",
    "suppress_measures": ".ties",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
