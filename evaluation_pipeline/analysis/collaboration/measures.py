"""Network measures of the collaboration roster, per kommune × wave (or network/comparison ×
wave), from the tie table (:func:`~.ties.tie_table`).

The graph of a group is the directed graph of its **regular** ties over the services (a
``networkx.DiGraph``; ties with a service outside ``services`` are ignored). Measures:

``density``
    regular ties / ordered pairs (A, B), A != B, whose sender A has respondents in the group.
    A service without respondents cannot report its ties, so its pairs are left out of the
    denominator instead of counted as absent ties; with every service observed this is
    ``networkx.density``.
``centralization``
    Freeman's (1978/79) degree centralization of the undirected graph of regular ties (a tie
    when either direction is regular): ``sum_i (max_deg - deg_i) / ((n - 1)(n - 2))``, n the
    services; 1 for a star, 0 when every service has the same degree. networkx has no graph
    centralization, so it is written here (:func:`degree_centralization`, also with the
    in-/out-degree versions of the directed graph, denominator (n - 1)²).
``reciprocity``
    ``networkx.reciprocity`` of the directed graph: the share of regular ties whose reverse is
    regular too (NaN without a regular tie).
``asymmetry``
    mean ``|mean_frequency(A -> B) - mean_frequency(B -> A)|`` over the unordered pairs with
    answers in both directions: how differently the two services see their collaboration.
``isolated``
    services with no regular tie in either direction.
``mean_quality``
    the respondent-weighted mean quality over the ties (weights ``n_quality``).

:func:`measures_from_sums` is the same arithmetic on numpy arrays of many graphs at once (the
bootstrap of :mod:`.change` evaluates thousands); the tests check it against the networkx
version.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import pandas as pd

from ...errors import AnalysisError
from .ties import TIE_COLUMNS

MEASURES = ["density", "centralization", "reciprocity", "asymmetry", "isolated",
            "mean_quality"]
MEASURE_COLUMNS = ["measure", "value", "n_respondents"]


def degree_centralization(graph: nx.Graph, mode: str = "all") -> float:
    """Freeman's degree centralization: ``sum_i (max_deg - deg_i)`` over its largest possible
    value, ``(n - 1)(n - 2)`` for an undirected graph (``mode="all"``; a directed graph is
    taken as undirected, a tie when either direction is present), ``(n - 1)²`` for the
    in- or out-degrees of a directed graph (``mode="in"`` / ``"out"``; the star with every tie
    pointing to, or from, the centre). NaN with fewer than 3 nodes (2 for in/out)."""
    n = graph.number_of_nodes()
    if mode == "all":
        g = graph.to_undirected(as_view=False) if graph.is_directed() else graph
        g = nx.Graph(g)
        g.remove_edges_from(nx.selfloop_edges(g))
        deg = np.array([d for _, d in g.degree()], float)
        denom = (n - 1) * (n - 2)
    elif mode in ("in", "out"):
        if not graph.is_directed():
            raise ValueError("degree_centralization: mode 'in'/'out' needs a directed graph")
        deg = np.array([d for _, d in (graph.in_degree() if mode == "in"
                                       else graph.out_degree())], float)
        denom = (n - 1) ** 2
    else:
        raise ValueError(f"degree_centralization: mode must be all, in or out, got {mode!r}")
    if denom <= 0:
        return float("nan")
    return float(np.sum(deg.max() - deg) / denom)


def regular_graph(ties: pd.DataFrame, services: Sequence[str]) -> nx.DiGraph:
    """The directed graph of the regular ties of one group over ``services``."""
    g = nx.DiGraph()
    g.add_nodes_from(services)
    reg = ties[ties["regular"].astype(bool) & ties["from_service"].isin(services)
               & ties["to_service"].isin(services)
               & (ties["from_service"] != ties["to_service"])]
    g.add_edges_from(zip(reg["from_service"], reg["to_service"], strict=True))
    return g


def _asymmetry(ties: pd.DataFrame, services: Sequence[str]) -> float:
    t = ties[ties["n"] > 0]
    mf = dict(zip(zip(t["from_service"], t["to_service"], strict=True), t["mean_frequency"],
                  strict=True))
    diffs = [abs(mf[(a, b)] - mf[(b, a)]) for i, a in enumerate(services)
             for b in services[i + 1:] if (a, b) in mf and (b, a) in mf]
    return float(np.mean(diffs)) if diffs else float("nan")


def group_measures(ties: pd.DataFrame, services: Sequence[str], senders: set[str]) -> dict:
    """The measures of one group's ties (``senders``: services with respondents)."""
    services = list(services)
    g = regular_graph(ties, services)
    pairs = len([s for s in services if s in senders]) * (len(services) - 1)
    q = ties[ties["n_quality"] > 0]
    return {
        "density": g.number_of_edges() / pairs if pairs else float("nan"),
        "centralization": degree_centralization(g),
        "reciprocity": nx.reciprocity(g) if g.number_of_edges() else float("nan"),
        "asymmetry": _asymmetry(ties, services),
        "isolated": float(sum(1 for v in g if g.degree(v) == 0)),
        "mean_quality": (float(np.average(q["mean_quality"], weights=q["n_quality"]))
                         if len(q) else float("nan")),
    }


def collaboration_measures(ties: pd.DataFrame, services: Sequence[str], *,
                           respondents: pd.DataFrame | None = None) -> pd.DataFrame:
    """The network measures of every group of a tie table, long: ``<by...>, measure, value,
    n_respondents`` (``by``: the tie table's grouping columns, e.g. kommune, wave).

    ``services``: the nodes (e.g. ``study.survey.roles``). ``respondents``: respondents per
    ``<by...>, from_service`` (a frame with column ``n_respondents``, or a dict keyed by
    ``(<by values...>, from_service)``; default ``ties.attrs["respondents"]`` as
    :func:`~.ties.tie_table` sets it, else the largest ``n`` of each sender's ties). A sender
    has respondents when that count is positive; ``n_respondents`` of a group is their sum.
    """
    by = [c for c in ties.columns if c not in TIE_COLUMNS]
    missing = [c for c in TIE_COLUMNS if c not in ties.columns]
    if missing:
        raise AnalysisError(f"collaboration_measures: the tie table lacks column(s) {missing}")
    resp = respondents if respondents is not None else ties.attrs.get("respondents")
    if isinstance(resp, dict):
        resp = pd.DataFrame([(*k, v) for k, v in resp.items()],
                            columns=by + ["from_service", "n_respondents"])
    if resp is None:
        resp = (ties.groupby(by + ["from_service"], sort=False)[["n", "n_quality"]].max()
                .max(axis=1).rename("n_respondents").reset_index())
    rows = []
    groups = ties.groupby(by, sort=False) if by else [((), ties)]
    for key, t in groups:
        key = key if isinstance(key, tuple) else (key,)
        r = resp
        for c, v in zip(by, key, strict=True):
            r = r[r[c] == v]
        r = r[r["from_service"].isin(services) & (r["n_respondents"] > 0)]
        values = group_measures(t, services, set(r["from_service"]))
        n_resp = int(r["n_respondents"].sum())
        rows += [(*key, m, values[m], n_resp) for m in MEASURES]
    out = pd.DataFrame(rows, columns=by + MEASURE_COLUMNS)
    out["n_respondents"] = out["n_respondents"].astype("int64")
    return out


def measures_from_sums(count: np.ndarray, sum_f: np.ndarray, n_regular: np.ndarray,
                       count_q: np.ndarray, sum_q: np.ndarray, senders: np.ndarray,
                       regular_share: float) -> dict[str, np.ndarray]:
    """The measures (:data:`MEASURES`) and the pair means of many graphs at once.

    Arrays of shape ``(..., S, S)`` (sender × receiver, S services): ``count`` frequency
    answers, ``sum_f`` their sum, ``n_regular`` those at or above ``regular_from``, ``count_q``
    and ``sum_q`` the same for quality; ``senders`` ``(..., S)`` whether the service has
    respondents. Returns arrays of shape ``(...)`` per measure and ``"pairs"`` ``(..., P)``:
    the mean frequency over both directions of every pair i < j (the mean of the two directed
    means; NaN unless both are observed), in ``numpy.triu_indices(S, 1)`` order.
    """
    S = count.shape[-1]
    off = ~np.eye(S, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        mf = np.where(count > 0, sum_f / count, np.nan)
        reg = (count > 0) & (n_regular >= regular_share * count - 1e-12) & off
        n_obs = senders.sum(-1)
        edges = reg.sum((-2, -1))
        density = np.where(n_obs > 0, edges / (n_obs * (S - 1)), np.nan)
        und = reg | np.swapaxes(reg, -1, -2)
        deg = und.sum(-1)
        cent = ((deg.max(-1, keepdims=True) - deg).sum(-1) / ((S - 1) * (S - 2))
                if S >= 3 else np.full(deg.shape[:-1], np.nan))
        mutual = (reg & np.swapaxes(reg, -1, -2)).sum((-2, -1))
        recip = np.where(edges > 0, mutual / edges, np.nan)
        iu = np.triu_indices(S, 1)
        a, b = mf[..., iu[0], iu[1]], np.swapaxes(mf, -1, -2)[..., iu[0], iu[1]]
        both = ~np.isnan(a) & ~np.isnan(b)
        diff = np.where(both, np.abs(a - b), 0.0)
        nboth = both.sum(-1)
        asym = np.where(nboth > 0, diff.sum(-1) / nboth, np.nan)
        isolated = (deg == 0).sum(-1).astype(float)
        cq = count_q.sum((-2, -1))
        mq = np.where(cq > 0, sum_q.sum((-2, -1)) / cq, np.nan)
        pairs = np.where(both, (a + b) / 2, np.nan)
    return {"density": density, "centralization": cent, "reciprocity": recip,
            "asymmetry": asym, "isolated": isolated, "mean_quality": mq, "pairs": pairs}
