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
        "synthetic": "SYNTETISKE DATA",
        "joined": "Innmelding i nettverket",
        "report_title": "Evalueringsrapport",
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
            "Få kommuner gir få klynger; klyngerobuste standardfeil kan gi for små p-verdier."
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
        "report_title": "Evaluation report",
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
            "Few kommuner mean few clusters; cluster-robust standard errors may over-reject."
        ),
        "estimated_caveat": (
            "Figures for split kommuner (Ålesund 1507 in 2020–2023) are allocated by population "
            "share and flagged as estimated."
        ),
    },
}


def t(key: str, language: str = "nb", **fmt: object) -> str:
    """The label ``key`` in ``language``."""
    text = LABELS.get(language, LABELS["nb"]).get(key) or LABELS["nb"][key]
    return text.format(**fmt) if fmt else text
