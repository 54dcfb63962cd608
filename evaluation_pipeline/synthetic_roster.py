"""The SYNTHETIC collaboration roster of the example study's staff survey (issue 25).

For every other service the respondent answers "how often do you collaborate with … about
children and youth" (1 never … 5 weekly) and, unless the answer was "never", "how well does
that collaboration work" (1 very poorly … 5 very well). The item about the respondent's own
service (their ``role``) is left empty (system missing).

Generating model, per respondent of service A in kommune k about service B in a wave:

- latent frequency f = BASE_FREQUENCY[A, B] (a symmetric pair level plus a few directed
  offsets, :data:`DIRECTED_OFFSET`) + kommune effect (sd :data:`KOMMUNE_SD`) + kommune × pair
  effect (sd :data:`KOMMUNE_PAIR_SD`) + person effect (sd :data:`PERSON_SD`, the same in every
  wave for a panel member) + the wave effect in :data:`PLANTED` + N(0, :data:`NOISE_SD`);
  the answer is clip(round(f), 1, 5);
- latent quality = :data:`QUALITY_INTERCEPT` + :data:`QUALITY_SLOPE` × f + kommune effect
  (sd :data:`KOMMUNE_SD`) + N(0, :data:`NOISE_SD`), rounded and clipped the same way.

Because the noise is symmetric, a directed tie A -> B has P(answer >= 4) >= 0.5 exactly when
its mean latent frequency (over kommuner and persons) is at least 3.5: the pooled network is
"regular" (``regular_from: 4``, ``regular_share: 0.5``) on exactly the ties whose model mean is
>= 3.5. :func:`model_density` counts them, and :data:`PLANTED` records the result. No model
mean is within 0.13 of 3.5, so sampling noise rarely moves a tie across the line.

Kept apart from :mod:`evaluation_pipeline.synthetic` (already long); that module writes the
answers into the three wave files and draws them from their own random stream, so every
other column of the wave files is unchanged by the roster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: latent mean frequency (1–5 metric) of an unordered pair of services at baseline
BASE_FREQUENCY: dict[tuple[str, str], float] = {
    ("skole", "barnehage"): 2.8,
    ("skole", "PPT"): 4.2,
    ("skole", "barnevern"): 2.8,
    ("skole", "helsestasjon"): 3.75,
    ("skole", "NAV"): 1.8,
    ("skole", "politi"): 2.4,
    ("skole", "BUP"): 2.6,
    ("barnehage", "PPT"): 3.8,
    ("barnehage", "barnevern"): 2.7,
    ("barnehage", "helsestasjon"): 4.1,
    ("barnehage", "NAV"): 1.6,
    ("barnehage", "politi"): 1.3,
    ("barnehage", "BUP"): 1.7,
    ("PPT", "barnevern"): 2.5,
    ("PPT", "helsestasjon"): 2.6,
    ("PPT", "NAV"): 1.5,
    ("PPT", "politi"): 1.4,
    ("PPT", "BUP"): 3.32,
    ("barnevern", "helsestasjon"): 2.75,
    ("barnevern", "NAV"): 2.8,
    ("barnevern", "politi"): 2.75,
    ("barnevern", "BUP"): 3.32,
    ("helsestasjon", "NAV"): 2.0,
    ("helsestasjon", "politi"): 1.6,
    ("helsestasjon", "BUP"): 2.4,
    ("NAV", "politi"): 2.3,
    ("NAV", "BUP"): 1.9,
    ("politi", "BUP"): 1.8,
}
#: (asking service, service asked about) -> added to the pair level: a small service sees
#: more of a large partner than the other way round
DIRECTED_OFFSET: dict[tuple[str, str], float] = {
    ("PPT", "skole"): 0.3,
    ("PPT", "barnehage"): 0.2,
    ("politi", "barnevern"): 0.55,
    ("helsestasjon", "barnehage"): 0.1,
}
#: latent level of a pair not in :data:`BASE_FREQUENCY` (another study's roles)
DEFAULT_FREQUENCY = 2.0
KOMMUNE_SD = 0.15
KOMMUNE_PAIR_SD = 0.2
PERSON_SD = 0.3
NOISE_SD = 0.7
QUALITY_INTERCEPT = 2.3
QUALITY_SLOPE = 0.4
ITEM_NONRESPONSE = 0.02

FREQUENCY_LABELS = {
    1: "Aldri",
    2: "Sjeldnere enn månedlig",
    3: "Omtrent månedlig",
    4: "Flere ganger i måneden",
    5: "Ukentlig eller oftere",
}
QUALITY_LABELS = {
    1: "Svært dårlig",
    2: "Ganske dårlig",
    3: "Verken godt eller dårlig",
    4: "Ganske godt",
    5: "Svært godt",
}
FREQUENCY_WORDING = "Hvor ofte samarbeider du med {service} om barn og unge?"
QUALITY_WORDING = "Hvor godt fungerer samarbeidet med {service}?"

#: The change planted in the roster (latent 1–5 metric, added to every answer of the group in
#: the wave; baseline w2012 = 0). Network kommuner: every tie rises by ``network_all_ties`` and
#: the two ``ties`` (both directions, services in roles order) by that plus their own value;
#: comparison kommuner get the small common ``comparison_trend``. ``density``: the share of the
#: 56 directed ties that are regular in the pooled group (model mean >= 3.5, see the module
#: docstring), from :func:`model_density`.
PLANTED: dict[str, Any] = {
    "network_all_ties": {"w2016": 0.35, "w2019": 0.50},
    "ties": {
        "skole-barnevern": {"w2016": 0.80, "w2019": 1.00},
        "barnevern-helsestasjon": {"w2016": 0.80, "w2019": 1.00},
    },
    "comparison_trend": {"w2016": 0.05, "w2019": 0.05},
    "regular_from": 4,
    "regular_share": 0.5,
    "quality": {"intercept": QUALITY_INTERCEPT, "slope_on_frequency": QUALITY_SLOPE},
}


def base_frequency(a: str, b: str) -> float:
    """The baseline latent mean of service ``a``'s answers about service ``b``."""
    pair = BASE_FREQUENCY.get((a, b), BASE_FREQUENCY.get((b, a), DEFAULT_FREQUENCY))
    return pair + DIRECTED_OFFSET.get((a, b), 0.0)


def wave_effect(a: str, b: str, in_network: bool, wave: str, baseline: str) -> float:
    """The planted change of ``a``'s answers about ``b`` in ``wave`` (0 at baseline)."""
    if wave == baseline:
        return 0.0
    if not in_network:
        return PLANTED["comparison_trend"][wave]
    effect = PLANTED["network_all_ties"][wave]
    for tie, by_wave in PLANTED["ties"].items():
        if set(tie.split("-")) == {a, b}:
            effect += by_wave[wave]
    return effect


def model_density(roles: list[str], waves: list[str], baseline: str) -> dict[str, dict]:
    """Share of directed ties whose model mean frequency is >= 3.5, by group and wave."""
    out: dict[str, dict[str, float]] = {}
    pairs = [(a, b) for a in roles for b in roles if a != b]
    for group, in_network in (("network", True), ("comparison", False)):
        out[group] = {
            w: round(sum(base_frequency(a, b) + wave_effect(a, b, in_network, w, baseline)
                         >= 3.5 for a, b in pairs) / len(pairs), 4)
            for w in waves
        }
    return out


def roster_items(roles: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The frequency and quality items of the example study: ``ofte_<service>`` and
    ``godt_<service>`` (service name in lower case) -> service."""
    return ({f"ofte_{r.lower()}": r for r in roles}, {f"godt_{r.lower()}": r for r in roles})


def roster_answers(
    frames: list[pd.DataFrame], study: dict, rng: np.random.Generator
) -> list[pd.DataFrame]:
    """Each wave's frame with the roster items of ``study['survey']['collaboration']``
    appended (nullable integers; frequency items first, then quality items)."""
    sv = study["survey"]
    collab = sv["collaboration"]
    freq_items: dict[str, str] = dict(collab["frequency"]["items"])
    qual_items: dict[str, str] = dict((collab.get("quality") or {}).get("items") or {})
    f_lo, f_hi = collab["frequency"].get("range", [1, 5])
    q_lo, q_hi = (collab.get("quality") or {}).get("range", [1, 5])
    waves = [w["id"] for w in sv["waves"]]
    baseline = next(w["id"] for w in sv["waves"] if w.get("role") == "baseline")
    network = {str(k) for k in study["network"]}
    kommuner = sorted({k for df in frames for k in df["kommune"]})
    services = list(freq_items.values())
    pairs = sorted({tuple(sorted((a, b))) for a in services for b in services if a != b})
    k_eff = dict(zip(kommuner, rng.normal(0.0, KOMMUNE_SD, len(kommuner)), strict=True))
    kq_eff = dict(zip(kommuner, rng.normal(0.0, KOMMUNE_SD, len(kommuner)), strict=True))
    kp = rng.normal(0.0, KOMMUNE_PAIR_SD, (len(kommuner), len(pairs)))
    kp_eff = {(k, p): kp[i, j] for i, k in enumerate(kommuner) for j, p in enumerate(pairs)}
    people = sorted({r for df in frames for r in df["respondent_id"]})
    person = dict(zip(people, rng.normal(0.0, PERSON_SD, len(people)), strict=True))
    out = []
    for wave, df in zip(waves, frames, strict=True):
        n = len(df)
        role = df["role"].to_numpy(dtype=object)
        kom = df["kommune"].to_numpy(dtype=object)
        in_net = np.array([k in network for k in kom])
        common = np.array([k_eff[k] for k in kom]) + df["respondent_id"].map(person).to_numpy()
        noise_f = rng.normal(0.0, NOISE_SD, (n, len(freq_items)))
        noise_q = rng.normal(0.0, NOISE_SD, (n, len(freq_items)))
        skip_f = rng.random((n, len(freq_items))) < ITEM_NONRESPONSE
        skip_q = rng.random((n, len(freq_items))) < ITEM_NONRESPONSE
        add: dict[str, pd.Series] = {}
        quality: dict[str, pd.Series] = {}
        q_item_of = {s: i for i, s in qual_items.items()}
        for j, (item, b) in enumerate(freq_items.items()):
            mean = np.array([
                base_frequency(a, b) + wave_effect(a, b, bool(net), wave, baseline)
                + (kp_eff[(k, tuple(sorted((a, b))))] if a != b else 0.0)
                for a, k, net in zip(role, kom, in_net, strict=True)
            ])
            latent = mean + common + noise_f[:, j]
            answer = np.clip(np.round(latent), f_lo, f_hi)
            own = role == b
            freq = pd.Series(answer, dtype="Float64").mask(own | skip_f[:, j]).astype("Int64")
            add[item] = freq
            if b in q_item_of:
                q_latent = (QUALITY_INTERCEPT + QUALITY_SLOPE * latent
                            + np.array([kq_eff[k] for k in kom]) + noise_q[:, j])
                q = np.clip(np.round(q_latent), q_lo, q_hi)
                # routing: no quality question after "never" (or no answer) on frequency
                skip = own | skip_q[:, j] | freq.isna().to_numpy() | (freq == f_lo).fillna(
                    False).to_numpy(dtype=bool)
                quality[q_item_of[b]] = pd.Series(q, dtype="Float64").mask(skip).astype("Int64")
        extra = pd.DataFrame({**add, **{i: quality[i] for i in qual_items if i in quality}})
        extra.index = df.index
        out.append(pd.concat([df, extra], axis=1))
    return out
