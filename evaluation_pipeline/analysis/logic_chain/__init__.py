"""The logic-chain evidence table: what the Effect rows say about each link of the study's
logic chain (goal -> interventions -> outputs -> outcomes -> impact).

Every output, outcome and impact in study.yaml binds indicators (``survey:<scale>``,
``registry:<indicator>``, ``interviews:<theme>``, ``network:<measure>`` or
``network:tie:<A>-<B>`` -- the collaboration network of ``survey.collaboration``, A before B
in ``survey.roles`` order). :func:`logic_chain_evidence` picks, for each
bound indicator, the one Effect row that is the **primary evidence**, compares it with the
**expected direction** and gives a **verdict**; :func:`element_verdicts` aggregates the verdicts
per element and per link of the chain.

Primary evidence per source (the other rows named are reported in ``note`` as checks)

=========== ============================================== =====================================
source      primary Effect row                             check (in ``note``)
=========== ============================================== =====================================
survey      network vs comparison DiD at the last          the same DiD reweighted to the
            follow-up wave against the baseline wave, as   baseline role mix. Without a DiD
            answered (two-step DiD on kommune × wave       row (no comparison kommuner): the
            means, t(K - 2)), contrast                     pooled pre/post change in the network
            ``<last> - <baseline>, network - comparison``  kommuner (a change, not an effect)
registry    TWFE DiD, network vs comparison kommuner       Callaway & Sant'Anna ATT (simple
            after joining; its CI is the wild cluster      aggregation, never-joined controls);
            bootstrap CI (test inversion) when the         ``registry_estimator=
            Effect's note has one, else the CR1 CI         "callaway_santanna"`` swaps the two
interviews  shift in the share of interviews mentioning    Fisher p and Holm-adjusted p across
            the theme, pooled over roles (group ``all``),  themes (the interview table's
                                                           family; the verdict's is below)
            last follow-up round - baseline round,
            Newcombe hybrid score CI
network     network vs comparison DiD of the kommuner's    the wild cluster bootstrap (WCR on
            changes at the last follow-up wave against     the kommune × wave values) of the
            the baseline (group ``all``, contrast          Effect's note, judged by its 95 %
            ``<last> - <baseline>, network - comparison``; CI. Without a DiD row: the pooled
            randomization inference over kommune labels,   change in the network kommuner (a
            exact p, CI by test inversion)                 change, not an effect)
=========== ============================================== =====================================

Why TWFE with the wild bootstrap for the registry: in BENCHMARKS.md's simulation (20 kommuner,
5 or 9 in the network) it is unbiased with a constant effect and its bootstrap CI keeps its
coverage, while Callaway & Sant'Anna's normal CI over-rejects with few network kommuner. With
strongly heterogeneous effects over joining cohorts TWFE can be biased; then the check row and
its disagreement (see the rule below) show it.

Expected direction (column ``expected``)

1. ``expected:`` of the element in study.yaml: one direction for all its indicators, or a
   mapping ``{"registry:neet_15_29": decrease}`` per indicator;
2. else for a registry indicator ``higher_is_better`` (true -> increase, false -> decrease);
3. else for the network measures ``asymmetry`` (how differently two services see their
   collaboration) and ``isolated`` (services without a regular tie) decrease, and the note
   says it is the default; every other network outcome (density, centralization,
   reciprocity, mean_quality, a pair's mean frequency ``tie:<A>-<B>``) increase;
4. else increase (survey scales are reverse-coded so that a higher score is more of the
   construct; an interview theme is expected to be mentioned more). A registry indicator with
   neither ``expected`` nor ``higher_is_better`` is assumed to increase and the note says so.

Verdict of one indicator (``p`` = the primary row's p-value, adjusted for multiplicity
within its family -- see "Multiplicity" below; ``ci`` = the primary row's 95 % CI;
``k`` = the study's ``small_cell_threshold``), the first rule that applies:

===================== ==================================================================
verdict               rule
===================== ==================================================================
``insufficient_data`` no Effect row for the indicator; or the row is suppressed: fewer
                      than ``k`` **persons** in either group (``n_treated`` or
                      ``n_control`` when ``n_unit`` counts respondents, pairs or
                      interviews; for the survey network vs comparison model, fewer than
                      ``k`` scores), the row's numbers then blanked as in the published
                      tables (:func:`~evaluation_pipeline.publication.suppress_effects`); or
                      fewer than 2 kommuner in either group of a comparison across
                      kommuner (no cluster inference with one cluster); or the estimate or
                      a CI bound is missing
``supports``          adjusted ``p < alpha`` and the estimate on the expected side
``contrary``          adjusted ``p < alpha`` and the estimate on the other side
``no_clear_change``   adjusted ``p >= alpha`` (or an estimate of exactly 0)
``no_clear_change``   (downgrade) the primary supports but the check row is contrary, or
                      the primary is contrary but the check supports: the estimators
                      disagree, so neither verdict is safe (the check row is judged by its
                      own 95 % CI, unadjusted: it is a check, not a test of the family)
===================== ==================================================================

A primary row without a p-value (every estimator of the pipeline writes one; a
hand-made Effect may not) is judged by its 95 % CI as before: ``supports`` when the CI excludes 0
on the expected side, ``contrary`` on the other side, else ``no_clear_change``; it is not in
the family, and its note says so.

Multiplicity (study.yaml ``inference:``; :mod:`..multiplicity`)

* **The p a verdict uses** (column ``p_value``): survey -- the DiD's (or pre/post's) p;
  registry TWFE -- the **wild cluster bootstrap p** of the Effect's note when the bootstrap
  ran (the p that matches the bootstrap CI the table shows; the CR1 p is in the note), else
  the row's p; Callaway & Sant'Anna -- its p; interviews -- **Fisher's exact p** (not the
  Newcombe CI, which can exclude 0 while Fisher's p is above 0.05); network -- the
  **randomization p** of the DiD (the collaboration Effect rows' own Holm adjustment across
  measures and pairs is replaced by the family's).
* **The family** (``inference.family``): ``logic_chain`` (default) -- every indicator of the
  chain with a usable test; ``element`` -- the indicators of one output/outcome/impact;
  ``source`` -- the chain's indicators of one source; ``none`` -- no adjustment. An indicator
  bound to two elements is one test (counted once). Rows with insufficient data are not in
  the family.
* **The method** (``inference.method``): ``holm`` (default), ``bonferroni``, ``fdr_bh``
  (false discovery rate), ``none``; at level ``inference.alpha`` (default 0.05). Column
  ``p_adjusted`` is the adjusted p (= ``p_value`` without adjustment), ``adjustment`` names
  the method and the family (``"holm, family: 7 indicators of the logic chain"``).
* **Simultaneous CI** (``sim_ci_low``, ``sim_ci_high``): Bonferroni intervals at level
  ``1 - alpha/m`` for ``holm`` and ``bonferroni`` (``m`` = tests in the family), ``1 - alpha``
  without adjustment, none for ``fdr_bh``. Survey and Callaway & Sant'Anna rows: the Wald
  interval rescaled (:func:`..multiplicity.wald_interval`); interviews: Newcombe's interval at
  that level; registry TWFE with the bootstrap and the network's randomization DiD: none
  (their test inversion runs at 95 % only; the verdict uses the adjusted p). Holm may reject
  where the Bonferroni interval still covers 0 (Holm is the more powerful test); the note
  says so when it happens.
* The reason in ``note`` names it all, e.g. ``Fisher p = 0.0562; Holm-adjusted p = 0.0562 >=
  0.05 (family: 7 indicators of the logic chain)``.

A count of kommuner is never a privacy matter: a network of 2 or more kommuner gets an
estimate and a verdict with the few-cluster inference of its estimator (the TWFE DiD's wild
cluster bootstrap CI; the survey DiD's t(K - 2) on kommune × wave means). When the
primary row compares fewer than :data:`~..linear_model.FEW_TREATED_CLUSTERS` (10) network
kommuner --
where the TWFE DiD adds the wild cluster bootstrap -- the column ``caveat`` says
``few_kommuner`` and the note gives the number: the report shows it next to the verdict
("få kommuner").

Aggregation (:func:`element_verdicts`)

============ ======================================================================
element      rule, first that applies
============ ======================================================================
             ``not_measured``: no indicator bound (the goal, the interventions, an
             element with an empty ``indicators`` list)
             ``contrary``: any indicator is contrary
             ``insufficient_data``: every indicator has insufficient data
             ``supports``: every indicator with data supports
             ``no_clear_change``: otherwise (a mix of supports and no clear change,
             or no clear change throughout)
link A -> B  links join every element of a level to every element of the next
             non-empty level. Both ends measured: ``contrary`` if either end is,
             else ``insufficient_data`` if either end is, else ``supports`` if both
             do, else ``no_clear_change``. One end not measured (goal,
             interventions): the measured end's verdict. Neither: ``not_measured``
============ ======================================================================

A supported link says the evidence at both ends moved as the chain predicts; it is consistent
with the chain, not a proof that one caused the other.

Where it lives: :mod:`.common` (levels, verdicts, columns, thresholds), :mod:`.selection`
(the expected direction and the primary Effect row per source, network included),
:mod:`.family` (the multiplicity family, adjusted p and simultaneous CI), :mod:`.verdict`
(the verdict rules and their aggregation), :mod:`.evidence` (:func:`logic_chain_evidence`).
"""

from .common import (
    ELEMENT_COLUMNS,
    EVIDENCE_COLUMNS,
    FEW_KOMMUNER_CAVEAT,
    LEVELS,
    MIN_KOMMUNER,
    NOT_MEASURED,
    VERDICTS,
)
from .evidence import logic_chain_evidence
from .verdict import element_verdicts, indicator_verdict

__all__ = [
    "logic_chain_evidence", "element_verdicts", "indicator_verdict", "LEVELS", "VERDICTS",
    "NOT_MEASURED", "EVIDENCE_COLUMNS", "ELEMENT_COLUMNS", "FEW_KOMMUNER_CAVEAT", "MIN_KOMMUNER",
]
