"""Reliability: Cronbach's α (+ Feldt CI), McDonald's ω, item–total statistics.

Reference numbers:
- pingouin's ``cronbach_alpha`` example data (tests/fixtures/surveys/pingouin/cronbach_alpha.csv):
  α = 0.5917188485995826, 95 % CI [0.195, 0.84], as printed in the docstring of
  ``pingouin.cronbach_alpha`` (pingouin 0.7.0).
- psych ``bfi`` Agreeableness A1–A5 with A1 reversed (6-point items):
  ``psych::alpha(bfi[, 1:5], check.keys = TRUE)`` as printed in Michael Clark, "Factor Analysis
  with the psych package" (m-clark.github.io): raw_alpha 0.70 (Feldt 0.685 / 0.703 / 0.72),
  alpha if dropped A1- .72, A2 .62, A3 .60, A4 .69, A5 .64; r.drop .31 .56 .59 .39 .49;
  n 2784 2773 2774 2781 2784; mean 4.6 4.8 4.6 4.7 4.6; sd 1.4 1.2 1.3 1.5 1.3. std.alpha 0.71
  is the value quoted for the same call in the psych documentation examples (checked by hand
  from the correlation matrix here).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import optimize, stats

from evaluation_pipeline.analysis.reliability import (
    ReliabilityWarning,
    omega_one_factor,
    scale_reliability,
    scales_reliability,
)
from evaluation_pipeline.errors import AnalysisError
from evaluation_pipeline.study import Scale

FIX = Path(__file__).parent / "fixtures" / "surveys"
EXAMPLE = Path(__file__).parents[1] / "examples" / "sunnmore"
BFI_A = ["A1", "A2", "A3", "A4", "A5"]


def _long(wide: pd.DataFrame, items: list[str], wave: str = "w1") -> pd.DataFrame:
    out = wide[items].copy()
    out["respondent_id"] = [f"r{i}" for i in range(len(out))]
    out = out.melt(id_vars="respondent_id", var_name="item", value_name="value")
    out["wave"] = wave
    return out


def _hand_alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    item_var = x.var(axis=0, ddof=1).sum()
    total_var = x.sum(axis=1).var(ddof=1)
    return k / (k - 1) * (1 - item_var / total_var)


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(FIX / "rdatasets" / "psych_bfi.csv")


@pytest.fixture(scope="module")
def bfi_result(bfi):
    scale = Scale(items=BFI_A, reverse=["A1"], range=(1, 6))
    return scale_reliability(_long(bfi, BFI_A), scale, by=None, name="agreeableness")


# ---- Cronbach's α ------------------------------------------------------------------------


def test_alpha_matches_pingouin_docstring_and_hand_computation():
    data = pd.read_csv(FIX / "pingouin" / "cronbach_alpha.csv")
    answers = data.rename(columns={"Subj": "respondent_id", "Items": "item", "Scores": "value"})
    items = [f"Q{i}" for i in range(1, 11)]
    res = scale_reliability(answers, Scale(items=items, range=(1, 7)), by=None, name="q")
    row = res.summary.iloc[0]
    assert row["alpha"] == pytest.approx(0.5917188485995826, abs=1e-12)
    assert (row["alpha_ci_low"], row["alpha_ci_high"]) == (0.195, 0.84)
    wide = data.pivot(index="Subj", columns="Items", values="Scores")[items].to_numpy(float)
    assert row["alpha"] == pytest.approx(_hand_alpha(wide), abs=1e-12)
    assert (row["n_used"], row["n_total"], row["group"], row["warning"]) == (15, 15, "all", "")


def test_bfi_agreeableness_matches_psych(bfi, bfi_result):
    row = bfi_result.summary.iloc[0]
    # psych::alpha(check.keys=TRUE): raw_alpha 0.70 (0.703), Feldt CI 0.685-0.72
    assert round(row["alpha"], 2) == 0.70
    assert row["alpha"] == pytest.approx(0.703, abs=0.01)
    assert row["alpha_ci_low"] == pytest.approx(0.685, abs=0.01)
    assert row["alpha_ci_high"] == pytest.approx(0.72, abs=0.01)
    # listwise: 2709 of 2800 respondents answered all five items
    assert (row["n_used"], row["n_total"]) == (2709, 2800)

    x = bfi[BFI_A].dropna().copy()
    x["A1"] = 7 - x["A1"]
    assert row["alpha"] == pytest.approx(_hand_alpha(x.to_numpy(float)), abs=1e-12)
    a_pg, ci_pg = pg.cronbach_alpha(data=x, nan_policy="listwise")
    assert row["alpha"] == pytest.approx(a_pg, abs=1e-12)
    assert [row["alpha_ci_low"], row["alpha_ci_high"]] == list(ci_pg)
    # standardized alpha (psych std.alpha 0.71), by hand from the correlation matrix
    r = x.corr().to_numpy()[np.triu_indices(5, 1)].mean()
    assert round(5 * r / (1 + 4 * r), 2) == 0.71


def test_bfi_item_statistics_match_psych_and_hand(bfi, bfi_result):
    items = bfi_result.items.set_index("item")
    psych_drop = {"A1": 0.72, "A2": 0.62, "A3": 0.60, "A4": 0.69, "A5": 0.64}
    psych_rdrop = {"A1": 0.31, "A2": 0.56, "A3": 0.59, "A4": 0.39, "A5": 0.49}
    psych_n = {"A1": 2784, "A2": 2773, "A3": 2774, "A4": 2781, "A5": 2784}
    psych_mean = {"A1": 4.6, "A2": 4.8, "A3": 4.6, "A4": 4.7, "A5": 4.6}
    psych_sd = {"A1": 1.4, "A2": 1.2, "A3": 1.3, "A4": 1.5, "A5": 1.3}
    x = bfi[BFI_A].copy()
    x["A1"] = 7 - x["A1"]
    xc = x.dropna()
    for it in BFI_A:
        assert items.loc[it, "alpha_if_deleted"] == pytest.approx(psych_drop[it], abs=0.01)
        assert items.loc[it, "item_total_r"] == pytest.approx(psych_rdrop[it], abs=0.01)
        assert items.loc[it, "n"] == psych_n[it]
        assert round(items.loc[it, "mean"], 1) == psych_mean[it]
        assert round(items.loc[it, "sd"], 1) == psych_sd[it]
        # by hand: item vs the sum of the other items; α of the other four
        rest = xc.drop(columns=it)
        r = np.corrcoef(xc[it], rest.sum(axis=1))[0, 1]
        assert items.loc[it, "item_total_r"] == pytest.approx(r, abs=1e-12)
        assert items.loc[it, "alpha_if_deleted"] == pytest.approx(
            _hand_alpha(rest.to_numpy(float)), abs=1e-12
        )
    assert items["reversed"].tolist() == [True, False, False, False, False]


def test_reverse_coding_uses_the_scale_range(bfi):
    long = _long(bfi, BFI_A)
    rev = scale_reliability(long, Scale(items=BFI_A, reverse=["A1"], range=(1, 6)), by=None)
    raw = scale_reliability(long, Scale(items=BFI_A, range=(1, 6)), by=None)
    assert rev.summary["alpha"].iloc[0] > raw.summary["alpha"].iloc[0] + 0.1
    items = rev.items.set_index("item")
    assert items.loc["A1", "mean"] == pytest.approx(7 - bfi["A1"].mean())


# ---- McDonald's ω ------------------------------------------------------------------------


def _congeneric(n: int, lam: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(n)
    e = rng.standard_normal((n, len(lam))) * np.sqrt(1 - lam**2)
    return pd.DataFrame(f[:, None] * lam + e, columns=[f"x{i}" for i in range(len(lam))])


def _ml_one_factor(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent ML fit: minimise log|Σ| + tr(R Σ⁻¹), Σ = λλ' + diag(ψ)."""
    k = r.shape[0]

    def f(p):
        lam, psi = p[:k], np.exp(p[k:])
        s = np.outer(lam, lam) + np.diag(psi)
        return np.linalg.slogdet(s)[1] + np.trace(r @ np.linalg.inv(s))

    start = np.r_[np.full(k, 0.5), np.log(np.full(k, 0.5))]
    p = optimize.minimize(f, start, method="BFGS", options={"gtol": 1e-10}).x
    return np.abs(p[:k]), np.exp(p[k:])


def test_omega_on_a_congeneric_one_factor_population():
    lam = np.array([0.8, 0.7, 0.6, 0.5, 0.4])
    data = _congeneric(40_000, lam, seed=7)
    items = list(data.columns)
    res = scale_reliability(_long(data, items), Scale(items=items, range=(-20, 20)), by=None)
    omega = res.summary["omega"].iloc[0]
    # population ω = (Σλ)² / ((Σλ)² + Σ(1 - λ²)) = 9 / 12.1
    pop = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert pop == pytest.approx(9 / 12.1)
    assert omega == pytest.approx(pop, abs=0.01)
    # α < ω when loadings differ (not tau-equivalent)
    assert res.summary["alpha"].iloc[0] < omega - 0.005

    # hand computation from the fitted loadings, and an independent ML fit
    corr = data.corr().to_numpy()
    om, fitted_lam, psi = omega_one_factor(corr, len(data))
    assert om == pytest.approx(omega, abs=1e-12)
    assert om == pytest.approx(fitted_lam.sum() ** 2 / (fitted_lam.sum() ** 2 + psi.sum()))
    np.testing.assert_allclose(fitted_lam, lam, atol=0.02)
    np.testing.assert_allclose(fitted_lam**2 + psi, 1.0, atol=1e-3)
    lam2, psi2 = _ml_one_factor(corr)
    np.testing.assert_allclose(fitted_lam, lam2, atol=1e-3)
    assert om == pytest.approx(lam2.sum() ** 2 / (lam2.sum() ** 2 + psi2.sum()), abs=1e-4)


def test_omega_needs_three_items():
    data = _congeneric(500, np.array([0.7, 0.6]), seed=1)
    items = list(data.columns)
    with pytest.warns(ReliabilityWarning, match="at least 3 items"):
        res = scale_reliability(_long(data, items), Scale(items=items, range=(-20, 20)))
    assert np.isnan(res.summary["omega"].iloc[0])
    assert not np.isnan(res.summary["alpha"].iloc[0])


# ---- warnings ----------------------------------------------------------------------------


def test_constant_item_gives_nan_alpha_with_reason():
    rng = np.random.default_rng(3)
    common = rng.integers(1, 6, 60)
    wide = pd.DataFrame({
        "a": np.clip(common + rng.integers(-1, 2, 60), 1, 5),
        "b": np.clip(common + rng.integers(-1, 2, 60), 1, 5),
        "c": np.clip(common + rng.integers(-1, 2, 60), 1, 5),
        "d": np.full(60, 4),
    }).astype(float)
    scale = Scale(items=["a", "b", "c", "d"], range=(1, 5))
    with pytest.warns(ReliabilityWarning, match=r"without variance.*d \(all 4\)"):
        res = scale_reliability(_long(wide, ["a", "b", "c", "d"]), scale, name="s")
    row = res.summary.iloc[0]
    assert np.isnan(row["alpha"]) and np.isnan(row["omega"]) and np.isnan(row["alpha_ci_low"])
    assert "d (all 4)" in row["warning"] and res.warnings == [row["warning"]]
    items = res.items.set_index("item")
    # deleting the constant item leaves a proper scale; every other α still contains it
    assert items.loc["d", "alpha_if_deleted"] == pytest.approx(
        _hand_alpha(wide[["a", "b", "c"]].to_numpy())
    )
    assert items.loc[["a", "b", "c"], "alpha_if_deleted"].isna().all()
    assert np.isnan(items.loc["d", "item_total_r"])
    assert items.loc[["a", "b", "c"], "item_total_r"].notna().all()


def test_heavy_listwise_deletion_warns_but_still_estimates():
    data = _congeneric(200, np.array([0.8, 0.7, 0.7, 0.6]), seed=5)
    items = list(data.columns)
    rng = np.random.default_rng(9)
    data = data.mask(rng.random(data.shape) < 0.25)  # 1 - 0.75**4 ≈ 68 % incomplete rows
    long = _long(data, items)
    with pytest.warns(ReliabilityWarning, match="listwise deletion dropped"):
        res = scale_reliability(long, Scale(items=items, range=(-20, 20)), name="s")
    row = res.summary.iloc[0]
    complete = data.dropna()
    assert (row["n_used"], row["n_total"]) == (len(complete), 200)
    assert row["n_used"] < 100
    assert row["alpha"] == pytest.approx(_hand_alpha(complete.to_numpy()), abs=1e-12)
    assert "more than half" in row["warning"]
    assert res.items.set_index("item")["n"].tolist() == data.notna().sum().tolist()


def test_groups_by_several_columns_and_out_of_range():
    data = _congeneric(300, np.array([0.8, 0.7, 0.6]), seed=2)
    items = list(data.columns)
    long = _long(data, items)
    long["role"] = long["respondent_id"].map(lambda r: "skole" if int(r[1:]) % 2 else "NAV")
    res = scale_reliability(long, Scale(items=items, range=(-20, 20)), by=["wave", "role"])
    assert res.summary["group"].tolist() == ["w1 / NAV", "w1 / skole"]
    assert res.summary["n_total"].tolist() == [150, 150]
    long.loc[0, "value"] = 99.0
    with pytest.raises(AnalysisError, match="outside the range"):
        scale_reliability(long, Scale(items=items, range=(-20, 20)))


# ---- the example study -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_answers():
    from evaluation_pipeline.ingest import read_survey
    from evaluation_pipeline.study import Study

    study = Study.load(EXAMPLE)
    answers = pd.concat(
        [read_survey(study.wave_file(w), wave=w) for w in study.wave_ids], ignore_index=True
    )
    return study, answers


def _feldt(alpha: float, n: int, k: int, level: float) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987): 1 - (1 - alpha) F(q; n - 1, (n - 1)(k - 1))."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    return (1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2),
            1 - (1 - alpha) * stats.f.ppf(tail, df1, df2))


def _population_alpha(k: int, mixture: list[tuple[float, float]], sd_latent: float,
                      sd_item: float, low: int, high: int) -> float:
    """Cronbach's alpha of k parallel items X_j = clip(round(L + e_j), low, high), e_j ~ N(0,
    sd_item^2) independent, L a mixture (weight, mean) of normals with SD sd_latent, by
    numerical integration over L: with A = Var(E[X | L]) (every inter-item covariance) and
    B = E[Var(X | L)], r = A / (A + B) and alpha = k r / (1 + (k - 1) r)."""
    x, w = np.polynomial.hermite_e.hermegauss(120)
    L = np.concatenate([mu + sd_latent * x for _, mu in mixture])
    W = np.concatenate([p * w for p, _ in mixture])
    W = W / W.sum()
    cats = np.arange(low, high + 1)
    below = stats.norm.cdf((cats[:-1, None] + 0.5 - L[None, :]) / sd_item)  # P(X <= c | L)
    prob = np.vstack([below, np.ones_like(L)]) - np.vstack([np.zeros_like(L), below])
    m1, m2 = cats @ prob, (cats**2) @ prob
    A = W @ m1**2 - (W @ m1) ** 2
    B = W @ (m2 - m1**2)
    r = A / (A + B)
    return float(k * r / (1 + (k - 1) * r))


def test_example_study_scales_are_reliable(example_answers):
    """Each scale x wave of the example study against two references: Cronbach's alpha and
    its Feldt CI computed by hand from the raw answers (reverse coding and listwise deletion
    done here), and the population alpha of the synthetic generator's model computed from
    its parameters (evaluation_pipeline.synthetic: latent mean, kommune, person, role and
    wave effects, item noise; items rounded and clipped to 1-5), which must lie in the 99%
    Feldt interval of every cell. The generator's small fixed item offsets (SD 0.12) are left
    out of the population value."""
    from evaluation_pipeline import synthetic as syn

    study, answers = example_answers
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReliabilityWarning)
        res = scales_reliability(answers, study.survey.scales)
    s = res.summary
    assert len(s) == len(study.survey.scales) * len(study.wave_ids)
    assert res.warnings == [] and (s["warning"] == "").all()

    ans = answers.assign(value=pd.to_numeric(answers["value"], errors="coerce"))
    respondents = ans.drop_duplicates(["respondent_id", "wave"])
    latent_sd = np.hypot(syn.KOMMUNE_SD, syn.PERSON_SD)
    roles = {r: w / sum(syn.ROLE_WEIGHTS.values()) for r, w in syn.ROLE_WEIGHTS.items()}
    base_mean = syn.PLANTED["survey"]["baseline_latent_mean"]
    for name, scale in study.survey.scales.items():
        lo, hi = scale.range
        k = len(scale.items)
        for wave in study.wave_ids:
            row = s[(s["scale"] == name) & (s["group"] == wave)].iloc[0]
            a = ans[(ans["wave"] == wave) & ans["item"].isin(scale.items)]
            wide = a.pivot(index="respondent_id", columns="item", values="value")[scale.items]
            for item in scale.reverse:
                wide[item] = lo + hi - wide[item]
            complete = wide.dropna().to_numpy(float)
            n = len(complete)
            assert (row["n_used"], row["n_total"]) == (n, len(wide))
            assert row["alpha"] == pytest.approx(_hand_alpha(complete), abs=1e-12)
            ci95 = _feldt(row["alpha"], n, k, 0.95)
            assert (row["alpha_ci_low"], row["alpha_ci_high"]) == pytest.approx(ci95, abs=5e-4)

            # the generator's latent score in this wave: a mixture over network/comparison
            # (their wave effects) and roles (their effects and shares)
            share_net = respondents.loc[respondents["wave"] == wave, "kommune"].isin(
                list(study.network)).mean()
            if wave == study.baseline_wave:
                effect = {True: 0.0, False: 0.0}
            else:
                effect = {True: syn.PLANTED["survey"][name][wave],
                          False: syn.PLANTED["survey"]["comparison_trend"][wave]}
            mixture = [(roles[r] * (share_net if net else 1 - share_net),
                        base_mean + syn.ROLE_EFFECTS[r] + effect[net])
                       for r in roles for net in (True, False)]
            pop = _population_alpha(k, mixture, latent_sd, syn.ITEM_NOISE_SD, lo, hi)
            low99, high99 = _feldt(row["alpha"], n, k, 0.99)
            assert low99 < pop < high99, (name, wave, row["alpha"], pop)

    # equal loadings by construction (tau-equivalent items): omega = alpha in the population
    assert np.allclose(s["omega"], s["alpha"], atol=0.01)
    assert (s["alpha_ci_low"] < s["alpha"]).all() and (s["alpha"] < s["alpha_ci_high"]).all()
    assert (s["n_used"] > 0.8 * s["n_total"]).all()
    # reverse-coded items correlate positively with the rest after reversal
    assert (res.items["item_total_r"] > 0.3).all()


def test_duplicated_item_gives_no_omega():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 80).astype(float)
    wide = pd.DataFrame({"a": x, "b": x, "c": np.clip(x + rng.integers(-1, 2, 80), 1, 5)})
    with pytest.warns(ReliabilityWarning, match="singular"):
        res = scale_reliability(_long(wide, ["a", "b", "c"]), Scale(items=["a", "b", "c"],
                                                                    range=(1, 5)))
    assert np.isnan(res.summary["omega"].iloc[0])
    assert res.summary["alpha"].iloc[0] == pytest.approx(_hand_alpha(wide.to_numpy()))
