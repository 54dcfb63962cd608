"""The collaboration roster of the staff survey as a network (issue 25).

- :mod:`.ties`: :func:`tie_table`, one row per directed tie A -> B per kommune × wave (or
  network/comparison × wave);
- :mod:`.measures`: :func:`collaboration_measures` (density, centralization, reciprocity,
  asymmetry, isolated, mean_quality) with networkx, and :func:`degree_centralization`
  (Freeman's, which networkx lacks);
- :mod:`.change`: :func:`collaboration_change`, baseline -> follow-up per kommune and pooled,
  respondent-bootstrap CIs;
- :mod:`.did`: :func:`collaboration_did`, network vs comparison DiD of the kommune-level
  changes, randomization inference over kommune labels.
"""

from .change import BOOT_ESTIMATOR, collaboration_change, pair_names
from .did import RI_ESTIMATOR, collaboration_did, randomization_test
from .measures import MEASURES, collaboration_measures, degree_centralization
from .ties import CollaborationWarning, tie_table

__all__ = ["tie_table", "collaboration_measures", "degree_centralization",
           "collaboration_change", "collaboration_did", "randomization_test", "pair_names",
           "CollaborationWarning", "MEASURES", "BOOT_ESTIMATOR", "RI_ESTIMATOR"]
