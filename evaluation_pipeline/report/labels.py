"""Report and figure labels: Norwegian bokmål by default, English as a study option."""

from __future__ import annotations

LABELS = {
    "nb": {
        "network": "Nettverkskommuner",
        "comparison": "Sammenligningskommuner",
        "all": "Alle",
        "year": "År",
        "wave": "Runde",
        "mean_score": "Gjennomsnittlig skåre",
        "synthetic": "SYNTETISKE DATA (SYNTHETIC)",
        "joined": "Innmelding i nettverket",
        "definition_break": "Brudd i statistikken",
        "share_answers": "Andel svar",
        "event_time": "År før/etter innmelding",
        "effect": "Effekt (nettverk − sammenligning)",
        "report_title": "Evalueringsrapport",
        "fig_survey": "Gjennomsnittlig skåre per runde med 95 % konfidensintervall.",
        "fig_registry": "Samlet rate per år i nettverks- og sammenligningskommunene; stiplede "
        "linjer viser når kommuner ble med i nettverket.",
        "fig_interviews": "Andel intervjuer som nevner hvert tema, per intervjurunde.",
        "tab_effects": "Endring fra baseline og forskjell mellom nettverk og sammenligning.",
        "tab_survey": "Skåre per skala, runde og gruppe.",
        "tab_interviews": "Kodinger og intervjuer per tema og runde.",
        "fig_interview_theme_shares": "Andel intervjuer som nevner hvert tema, per runde.",
        "fig_interview_theme_shifts": "Endring i andel intervjuer som nevner temaet fra "
        "baseline til oppfølging (95 % KI, Newcombe).",
        "fig_interview_theme_heatmap": "Andel intervjuer som nevner temaet, per sektor og "
        "runde, eller bare per runde når sektorgruppene er for små til å vises.",
        "fig_interview_co_occurrence": "Samforekomst av temaer i samme intervju (Jaccard).",
        "tab_intercoder": "Samsvar mellom kodere på dobbeltkodede intervjuer (tema til stede "
        "eller ikke): Krippendorffs alfa, Cohens kappa og prosent enighet.",
        "theme_shift": "Endring i andel",
        "share_difference": "Differanse i andel (oppfølging − baseline)",
        "fig_survey_scale_means": "Gjennomsnittlig skåre per runde med 95 % "
        "konfidensintervall.",
        "fig_survey_forest": "Endring fra baseline til siste runde per nettverkskommune "
        "(95 % KI); samlet estimat nederst.",
        "fig_survey_item_distributions": "Svarfordeling per spørsmål og runde i "
        "nettverkskommunene (svar slik de ble gitt, uten omkoding).",
        "tab_reliability": "Reliabilitet per skala og runde: Cronbachs alfa med 95 % KI og "
        "McDonalds omega.",
        "tab_response": "Antall svar per kommune og runde (svarprosent der antall inviterte er "
        "oppgitt).",
        "fig_registry_trends": "Samlet rate per år i nettverks- og sammenligningskommunene; "
        "stiplede linjer viser når kommuner ble med i nettverket.",
        "fig_registry_event_study": "Effekt etter år før og etter innmelding (referanse: året "
        "før), toveis faste effekter og Callaway–Sant'Anna, med 95 % konfidensintervall.",
        "tab_registry_did": "Forskjell-i-forskjeller per indikator: toveis faste effekter "
        "(klyngerobust KI og wild cluster bootstrap) og Callaway–Sant'Anna (gruppe-tid ATT).",
        "pretrend": "Test av parallelle trender før innmelding (alle koeffisienter før "
        "innmelding lik 0):",
        "design": "Design og data",
        "survey": "Spørreundersøkelse",
        "registry": "Registerdata",
        "interviews": "Intervjuer",
        "effects": "Effektestimater",
        "theme": "Tema",
        "share_sources": "Andel intervjuer som nevner temaet",
        "suppressed_note": "Celler med færre enn {k} enheter er prikket.",
        "estimate": "Estimat",
        "ci": "95 % KI",
        "outcome": "Utfall",
        "contrast": "Sammenligning",
        "group": "Gruppe",
        "n": "n",
        "method": "Metode",
        "kommuner": "Kommuner",
        "waves": "Runder",
        "respondents": "Svar",
        "generated": "Generert",
        "caveats": "Forbehold",
        "synthetic_caveat": (
            "Alle tall i denne rapporten er SYNTETISKE (eksempelstudie med innplantede effekter)."
        ),
        "few_clusters": (
            "Få kommuner gir få klynger; klyngerobuste standardfeil kan gi for små p-verdier. "
            "Derfor rapporteres også wild cluster bootstrap. Konfidensintervallene fra "
            "Callaway–Sant'Anna blir for smale når få kommuner er med i nettverket "
            "(se simuleringen i BENCHMARKS.md)."
        ),
        "estimated_caveat": (
            "Tall for kommuner som ble delt (Ålesund 1507 i 2020–2023) er fordelt etter "
            "befolkningsandel og merket som estimert."
        ),
    },
    "en": {
        "network": "Network kommuner",
        "comparison": "Comparison kommuner",
        "all": "All",
        "year": "Year",
        "wave": "Wave",
        "mean_score": "Mean score",
        "synthetic": "SYNTHETIC DATA",
        "joined": "Joined the network",
        "definition_break": "Definition break",
        "share_answers": "Share of answers",
        "event_time": "Years before/after joining",
        "effect": "Effect (network − comparison)",
        "report_title": "Evaluation report",
        "fig_survey": "Mean score by wave with 95% confidence intervals.",
        "fig_registry": "Pooled rate by year in network and comparison kommuner; dotted lines "
        "mark the years kommuner joined the network.",
        "fig_interviews": "Share of interviews mentioning each theme, by interview round.",
        "tab_effects": "Change from baseline and network vs comparison differences.",
        "tab_survey": "Scores by scale, wave and group.",
        "tab_interviews": "Codings and interviews by theme and round.",
        "fig_interview_theme_shares": "Share of interviews mentioning each theme, by round.",
        "fig_interview_theme_shifts": "Change in the share of interviews mentioning the theme "
        "from baseline to follow-up (95% CI, Newcombe).",
        "fig_interview_theme_heatmap": "Share of interviews mentioning the theme by sector and "
        "round, or by round only when the sector groups are too small to show.",
        "fig_interview_co_occurrence": "Themes mentioned in the same interview (Jaccard).",
        "tab_intercoder": "Agreement between coders on double-coded interviews (theme present "
        "or not): Krippendorff's alpha, Cohen's kappa and percent agreement.",
        "theme_shift": "Change in share",
        "share_difference": "Difference in share (follow-up − baseline)",
        "fig_survey_scale_means": "Mean score by wave with 95% confidence intervals.",
        "fig_survey_forest": "Change from baseline to the last wave per network kommune (95% "
        "CI); pooled estimate last.",
        "fig_survey_item_distributions": "Answers per item and wave in the network kommuner "
        "(as answered, not reverse coded).",
        "tab_reliability": "Reliability per scale and wave: Cronbach's alpha with 95% CI and "
        "McDonald's omega.",
        "tab_response": "Answers per kommune and wave (response rate where the number invited "
        "is given).",
        "fig_registry_trends": "Pooled rate by year in network and comparison kommuner; dotted "
        "lines mark the years kommuner joined the network.",
        "fig_registry_event_study": "Effect by years before and after joining (reference: the "
        "year before), two-way fixed effects and Callaway–Sant'Anna, with 95% CIs.",
        "tab_registry_did": "Difference-in-differences per indicator: two-way fixed effects "
        "(cluster-robust CI and wild cluster bootstrap) and Callaway–Sant'Anna (group-time ATT).",
        "pretrend": "Test of parallel pre-trends (all coefficients before joining equal 0):",
        "design": "Design and data",
        "survey": "Survey",
        "registry": "Registry statistics",
        "interviews": "Interviews",
        "effects": "Effect estimates",
        "theme": "Theme",
        "share_sources": "Share of interviews mentioning the theme",
        "suppressed_note": "Cells with fewer than {k} units are suppressed.",
        "estimate": "Estimate",
        "ci": "95% CI",
        "outcome": "Outcome",
        "contrast": "Contrast",
        "group": "Group",
        "n": "n",
        "method": "Method",
        "kommuner": "Kommuner",
        "waves": "Waves",
        "respondents": "Answers",
        "generated": "Generated",
        "caveats": "Caveats",
        "synthetic_caveat": (
            "Every number in this report is SYNTHETIC (example study with planted effects)."
        ),
        "few_clusters": (
            "Few kommuner mean few clusters; cluster-robust standard errors may over-reject, "
            "so a wild cluster bootstrap is reported too. Callaway–Sant'Anna's confidence "
            "intervals are too narrow when few kommuner are in the network (see the simulation "
            "in BENCHMARKS.md)."
        ),
        "estimated_caveat": (
            "Figures for split kommuner (Ålesund 1507 in 2020–2023) are allocated by population "
            "share and flagged as estimated."
        ),
    },
}


COLUMNS = {
    "nb": {
        "source": "Kilde", "outcome": "Utfall", "contrast": "Sammenligning", "group": "Gruppe",
        "estimate": "Estimat", "ci_low": "KI nedre", "ci_high": "KI øvre", "p_value": "p",
        "n_obs": "n", "estimator": "Metode", "scale": "Skala", "wave": "Runde",
        "mean": "Snitt", "sd": "SD", "n": "n", "theme": "Tema", "n_segments": "Kodinger",
        "n_sources": "Intervjuer", "sources_in_group": "Intervjuer i runden",
        "share_sources": "Andel", "year": "År", "indicator": "Indikator", "value": "Verdi",
        "twfe": "TWFE", "twfe_ci_low": "TWFE KI nedre", "twfe_ci_high": "TWFE KI øvre",
        "twfe_p": "TWFE p", "boot_p": "Bootstrap p", "boot_ci_low": "Bootstrap KI nedre",
        "boot_ci_high": "Bootstrap KI øvre", "cs": "C&S ATT", "cs_ci_low": "C&S KI nedre",
        "cs_ci_high": "C&S KI øvre", "cs_p": "C&S p",
        "alpha": "Alfa", "alpha_ci_low": "Alfa KI nedre", "alpha_ci_high": "Alfa KI øvre",
        "omega": "Omega", "n_used": "n", "kommune": "Kommune", "respondents": "Svar",
        "invited": "Inviterte", "rate": "Svarprosent",
        "code": "Kode", "n_units": "Enheter", "n_coders": "Kodere",
        "percent_agreement": "Enighet", "kappa": "Kappa", "warning": "Merknad",
    },
    "en": {
        "source": "Source", "outcome": "Outcome", "contrast": "Contrast", "group": "Group",
        "estimate": "Estimate", "ci_low": "CI low", "ci_high": "CI high", "p_value": "p",
        "n_obs": "n", "estimator": "Method", "scale": "Scale", "wave": "Wave",
        "mean": "Mean", "sd": "SD", "n": "n", "theme": "Theme", "n_segments": "Codings",
        "n_sources": "Interviews", "sources_in_group": "Interviews in round",
        "share_sources": "Share", "year": "Year", "indicator": "Indicator", "value": "Value",
        "twfe": "TWFE", "twfe_ci_low": "TWFE CI low", "twfe_ci_high": "TWFE CI high",
        "twfe_p": "TWFE p", "boot_p": "Bootstrap p", "boot_ci_low": "Bootstrap CI low",
        "boot_ci_high": "Bootstrap CI high", "cs": "C&S ATT", "cs_ci_low": "C&S CI low",
        "cs_ci_high": "C&S CI high", "cs_p": "C&S p",
        "alpha": "Alpha", "alpha_ci_low": "Alpha CI low", "alpha_ci_high": "Alpha CI high",
        "omega": "Omega", "n_used": "n", "kommune": "Kommune", "respondents": "Answers",
        "invited": "Invited", "rate": "Response rate",
        "code": "Code", "n_units": "Units", "n_coders": "Coders",
        "percent_agreement": "Agreement", "kappa": "Kappa", "warning": "Note",
    },
}
VALUES = {
    "nb": {"network": "Nettverk", "comparison": "Sammenligning", "all": "Alle",
           "survey": "Spørreundersøkelse", "registry": "Register", "interviews": "Intervjuer"},
    "en": {"network": "Network", "comparison": "Comparison", "all": "All",
           "survey": "Survey", "registry": "Registry", "interviews": "Interviews"},
}


def t(key: str, language: str = "nb", **fmt: object) -> str:
    """The label ``key`` in ``language``."""
    text = LABELS.get(language, LABELS["nb"]).get(key) or LABELS["nb"][key]
    return text.format(**fmt) if fmt else text
