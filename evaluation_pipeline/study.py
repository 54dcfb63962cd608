"""The study: what is evaluated, read from ``study.yaml``.

The study, not the code, names the kommuner, network membership and join years, comparison
units, survey waves and scales, registry indicators, interview rounds and the logic chain. A
second study needs a new study.yaml, no code. Every error names the file and the key.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import StudyConfigError
from .geography import code_for_name, did_you_mean, valid_codes

Language = Literal["nb", "en"]


def _kommune_key(k: Any, year: Any) -> str:
    """A network/comparison entry as a code: numbers are zero-padded to 4 digits; a kommune
    name (``Bamble``) that only one kommune has in the study's geography becomes its code."""
    text = str(k).strip()
    if text.isdigit():
        return text.zfill(4)
    if isinstance(year, int):
        try:
            return code_for_name(text, year) or text
        except Exception:  # noqa: BLE001 - an unsupported year is reported by the code check
            return text
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    """A label in Norwegian bokmål and (optionally) English."""

    nb: str
    en: str | None = None

    def get(self, language: Language) -> str:
        return (self.en or self.nb) if language == "en" else self.nb


def _label(value: Any) -> Any:
    return {"nb": value} if isinstance(value, str) else value


class Wave(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    fieldwork: dt.date
    role: Literal["baseline", "followup"]
    file: str | None = None
    invited: dict[str, int] | None = None


class Scale(_Strict):
    label: Label | None = None
    items: list[str] = Field(min_length=1)
    reverse: list[str] = []
    range: tuple[int, int]
    min_share_answered: float = Field(0.5, gt=0, le=1)

    _lab = field_validator("label", mode="before")(_label)

    @model_validator(mode="after")
    def _check(self) -> Scale:
        lo, hi = self.range
        if lo >= hi:
            raise ValueError(f"range must be [low, high] with low < high, got [{lo}, {hi}]")
        stray = [i for i in self.reverse if i not in self.items]
        if stray:
            raise ValueError(f"reverse-coded item(s) {stray} are not among the items")
        if len(set(self.items)) != len(self.items):
            raise ValueError("items are listed more than once")
        return self


class RosterBlock(_Strict):
    """One question of the collaboration roster, asked about every other service: ``items``
    maps each item (a survey column) to the service it asks about."""

    label: Label | None = None
    items: dict[str, str] = Field(min_length=1)
    range: tuple[int, int]
    #: frequency only: answers from this value up count as regular collaboration
    regular_from: int | None = None

    _lab = field_validator("label", mode="before")(_label)

    @model_validator(mode="after")
    def _check(self) -> RosterBlock:
        lo, hi = self.range
        if lo >= hi:
            raise ValueError(f"range must be [low, high] with low < high, got [{lo}, {hi}]")
        services = list(self.items.values())
        twice = sorted({s for s in services if services.count(s) > 1})
        if twice:
            raise ValueError(f"items: service(s) {twice} are asked about by more than one item")
        if self.regular_from is not None and not lo < self.regular_from <= hi:
            raise ValueError(f"regular_from must lie in ({lo}, {hi}], got {self.regular_from}")
        return self


class Collaboration(_Strict):
    """The collaboration roster of the staff survey (``survey.collaboration``): how often,
    and optionally how well, the respondent's service (their ``role``) works with each other
    service. Services are the survey's ``roles``."""

    frequency: RosterBlock
    quality: RosterBlock | None = None
    #: a directed tie A -> B is a regular tie when at least this share of A's respondents
    #: answer ``regular_from`` or more about B
    regular_share: float = Field(0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> Collaboration:
        if self.frequency.regular_from is None:
            raise ValueError("frequency: regular_from is required (the answer from which "
                             "collaboration counts as regular, e.g. regular_from: 4)")
        if self.quality is not None:
            if self.quality.regular_from is not None:
                raise ValueError("quality: regular_from belongs to frequency only")
            extra = sorted(set(self.quality.items.values()) - set(self.frequency.items.values()))
            if extra:
                raise ValueError(f"quality: service(s) {extra} have no frequency item")
        return self

    def items(self) -> list[str]:
        """Every roster item (frequency, then quality)."""
        return list(self.frequency.items) + (list(self.quality.items) if self.quality else [])

    def services(self) -> list[str]:
        """The services asked about, in the order of the frequency items."""
        return list(self.frequency.items.values())


class Survey(_Strict):
    landing: str = "landing/surveys"
    waves: list[Wave] = Field(min_length=1)
    roles: list[str] | None = None
    scales: dict[str, Scale] = {}
    free_text: list[str] = []
    other_items: list[str] = []
    collaboration: Collaboration | None = None

    @model_validator(mode="after")
    def _check(self) -> Survey:
        ids = [w.id for w in self.waves]
        if len(set(ids)) != len(ids):
            raise ValueError(f"waves: wave ids must be unique, got {ids}")
        if not any(w.role == "baseline" for w in self.waves):
            raise ValueError("waves: at least one wave must have role: baseline")
        if self.collaboration is not None:
            c = self.collaboration
            if not self.roles:
                raise ValueError("collaboration: needs survey.roles (the services; a "
                                 "respondent's role is their own service)")
            unknown = sorted(set(c.services()) - set(self.roles))
            if unknown:
                hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(
                    u, self.roles, n=1)) else repr(u) for u in unknown]
                raise ValueError(f"collaboration: service(s) {', '.join(hints)} are not "
                                 f"among survey.roles {self.roles}")
            scale_items = {i for sc in self.scales.values() for i in sc.items}
            clash = sorted(set(c.items()) & (scale_items | set(self.other_items)
                                             | set(self.free_text)))
            if clash:
                raise ValueError(f"collaboration: item(s) {clash} are also scale, other or "
                                 "free-text items")
            if len(set(c.items())) != len(c.items()):
                raise ValueError("collaboration: an item is both a frequency and a quality item")
        return self


class Round(_Strict):
    id: str
    role: Literal["baseline", "followup"]


class DocumentMap(_Strict):
    """One ``interviews.documents`` entry: the documents whose name equals ``match`` (or
    matches it as a glob: ``*``, ``?``, ``[...]``) get this kommune, role and round where the
    export's case attributes leave them empty."""

    match: str = Field(min_length=1)
    kommune: str | None = None
    role: str | None = None
    round: str | None = None

    @field_validator("kommune", "role", "round", mode="before")
    @classmethod
    def _text(cls, v: Any, info) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v).zfill(4) if info.field_name == "kommune" else str(v)
        return v

    @model_validator(mode="after")
    def _something(self) -> DocumentMap:
        if self.kommune is None and self.role is None and self.round is None:
            raise ValueError(
                f"documents entry {self.match!r} gives none of kommune, role, round; e.g. "
                f'{{match: "{self.match}", kommune: "4001", role: skole, round: r2021}}'
            )
        return self


class Interviews(_Strict):
    files: list[str] = Field(min_length=1)
    rounds: list[Round] = []
    #: documents -> kommune, role, round, for exports without case attributes
    documents: list[DocumentMap] = []

    @model_validator(mode="after")
    def _rounds_known(self) -> Interviews:
        ids = [r.id for r in self.rounds]
        for i, d in enumerate(self.documents):
            if ids and d.round is not None and d.round not in ids:
                raise ValueError(
                    f"documents[{i}]: round {d.round!r} (for {d.match!r}) is not one of "
                    f"interviews.rounds ({', '.join(ids)})"
                )
        return self


class Indicator(_Strict):
    """One registry indicator: which file, which contents, and how the file is published.

    Keys for files as published (FHI/Kommunehelsa, Udir, SSB downloads; see the README's
    study.yaml table): ``filter`` keeps one value of each extra dimension
    (``{Kjønn: kjønn samlet}``, matched case-insensitively and trimmed); ``scale`` declares the
    scale of a published rate (detected from the values and label otherwise); ``borders``
    says whether the file is on the kommune borders of each year (``as_published``) or on
    today's borders (``current``; detected otherwise); ``sheet`` picks the Excel sheet (name or
    0-based index); ``weights`` weights the DiD of the rate by population: ``population`` (the
    packaged population of the indicator's ``age_group``) or a CSV file with kommune, year and
    population columns.
    """

    label: Label | None = None
    file: str
    numerator: str | None = None
    denominator: str | None = None
    value: str | None = None
    per: float = 100.0
    age_group: list[str] = []
    higher_is_better: bool | None = None
    breaks: list[int] = []  # years a definition changed (first year of the new definition)
    filter: dict[str, str] = {}
    scale: Literal["proportion", "percent", "per_1000", "per_100000"] | None = None
    borders: Literal["current", "as_published"] | None = None
    sheet: str | int | None = None
    weights: str | None = None

    _lab = field_validator("label", mode="before")(_label)

    @field_validator("filter", mode="before")
    @classmethod
    def _filter(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): str(x) for k, x in v.items()}
        return v

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError("give both numerator and denominator, or neither")
        if self.numerator is None and self.value is None:
            raise ValueError("give numerator and denominator, or value (a published rate)")
        if self.scale is not None and self.value is None:
            raise ValueError("scale applies to a published rate (value:); a rate from "
                             "numerator and denominator is computed per `per`")
        if self.weights == "population" and not self.age_group:
            raise ValueError("weights: population needs age_group (the population weighed "
                             "by, e.g. age_group: [\"000_005\", \"006_012\"])")
        return self


class Registry(_Strict):
    landing: str = "landing/registry"
    indicators: dict[str, Indicator] = Field(min_length=1)
    #: when the registry refresh schedule re-reads the files (cron, Europe/Oslo): monthly
    refresh_cron: str = "0 6 1 * *"

    @field_validator("refresh_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if len(v.split()) != 5:
            raise ValueError(
                "expected a cron expression with 5 fields (minute hour day month weekday), "
                f"e.g. '0 6 1 * *' for 06:00 on the 1st of every month, got {v!r}"
            )
        return v


Direction = Literal["increase", "decrease"]


class ChainElement(_Strict):
    """An output, outcome or impact of the logic chain and the indicators bound to it.

    ``expected`` is the direction of change the chain predicts: one direction for every bound
    indicator, or a mapping ``{"<source>:<id>": increase|decrease}`` per indicator. Without it
    a registry indicator follows its ``higher_is_better``, the network measures ``asymmetry``
    and ``isolated`` are expected to decrease, and a survey scale, an interview theme or any
    other network outcome is expected to increase (see
    :mod:`evaluation_pipeline.analysis.logic_chain`).
    """

    name: str
    indicators: list[str] = []
    expected: Direction | dict[str, Direction] | None = None

    @field_validator("indicators")
    @classmethod
    def _refs(cls, refs: list[str]) -> list[str]:
        for r in refs:
            src, _, ident = r.partition(":")
            if src not in ("survey", "registry", "interviews", "network") or not ident:
                raise ValueError(
                    f"indicator reference {r!r} must be 'survey:<scale>', "
                    "'registry:<indicator>', 'interviews:<theme>' or 'network:<measure>' / "
                    "'network:tie:<A>-<B>'"
                )
        return refs

    @model_validator(mode="after")
    def _expected_refs(self) -> ChainElement:
        if isinstance(self.expected, dict):
            stray = [r for r in self.expected if r not in self.indicators]
            if stray:
                raise ValueError(
                    f"logic_chain {self.name!r}: expected names {stray}, which are not among "
                    f"its indicators {self.indicators}"
                )
        return self


class LogicChain(_Strict):
    goal: str
    interventions: list[str] = []
    outputs: list[ChainElement] = []
    outcomes: list[ChainElement] = []
    impact: list[ChainElement] = []


class Validation(_Strict):
    """How strict the data contracts are applied."""

    max_rejected_rows: int | dict[str, int] = 0
    min_respondents_per_kommune: int = Field(10, ge=0)

    def tolerated(self, table: str) -> int:
        if isinstance(self.max_rejected_rows, int):
            return self.max_rejected_rows
        return self.max_rejected_rows.get(table, 0)


class Privacy(_Strict):
    """``demo_pseudonym_key`` is allowed only in a synthetic study (the shipped example)."""

    demo_pseudonym_key: str | None = None


class Inference(_Strict):
    """How the logic chain's verdicts account for testing many indicators (``inference:`` in
    study.yaml; see :mod:`evaluation_pipeline.analysis.multiplicity`).

    ``family``: which tests are adjusted together -- ``logic_chain`` (every indicator of the
    logic chain, the default), ``element`` (the indicators of one output/outcome/impact),
    ``source`` (the logic chain's indicators of one source: survey, registry, interviews,
    network) or ``none`` (no adjustment). ``method``: ``holm`` (default), ``bonferroni``, ``fdr_bh``
    (controls the false discovery rate; no simultaneous intervals) or ``none``. ``alpha``:
    the level a verdict is tested at (default 0.05)."""

    family: str = "logic_chain"
    method: str = "holm"
    alpha: float = Field(0.05, gt=0, lt=1)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for key in v:
                if key not in cls.model_fields:
                    near = difflib.get_close_matches(str(key), list(cls.model_fields), n=1)
                    hint = f"; did you mean {near[0]!r}?" if near else ""
                    raise ValueError(f"{key}: not a key of inference (family, method, alpha)"
                                     f"{hint}")
        return v

    @field_validator("family", "method")
    @classmethod
    def _choice(cls, v: str, info) -> str:
        from .analysis.multiplicity import FAMILIES, METHODS  # the one list of each

        choices = {"family": FAMILIES, "method": METHODS}[info.field_name]
        if v not in choices:
            near = difflib.get_close_matches(str(v), choices, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"unknown {info.field_name} {v!r}: use one of "
                             f"{', '.join(choices)}{hint}")
        return v

    @property
    def adjusted(self) -> bool:
        """Whether the verdicts are adjusted at all (neither family nor method is none)."""
        return self.family != "none" and self.method != "none"


def _check_network_ref(study: Study, element: str, ref: str, ident: str) -> None:
    """A logic-chain reference ``network:<measure>`` or ``network:tie:<A>-<B>`` (A before B
    in ``survey.roles`` order, as the Effect rows name the pair) needs
    ``survey.collaboration`` and a known measure or pair; a pair in the other order gets a
    did-you-mean."""
    if study.survey is None or study.survey.collaboration is None:
        raise ValueError(
            f"logic_chain {element!r}: indicator {ref!r} needs the collaboration network, but "
            "study.yaml has no 'survey.collaboration' roster (add survey.collaboration with "
            f"its frequency block, or remove {ref!r} from the logic chain)")
    from .analysis.collaboration import MEASURES, pair_names

    known = [*MEASURES, *pair_names(study.survey.roles)]
    if ident in known:
        return
    roles = study.survey.roles
    hint = next((f"tie:{a}-{b}" for i, a in enumerate(roles) for b in roles[i + 1:]
                 if ident == f"tie:{b}-{a}"), None)
    if hint is None:
        close = difflib.get_close_matches(ident, known, n=1)
        hint = close[0] if close else None
    raise ValueError(
        f"logic_chain {element!r}: no network outcome {ident!r} in {ref!r}"
        + (f" (did you mean 'network:{hint}'?)" if hint else "")
        + f"; known: the measures {MEASURES} or 'tie:<A>-<B>' with A before B in "
        f"survey.roles {study.survey.roles}")


class Study(_Strict):
    """A study as described by study.yaml. ``root`` is the folder holding the file."""

    study: str
    synthetic: bool = False
    geography_year: int
    language: Language = "nb"
    small_cell_threshold: int = Field(5, ge=1)
    network: dict[str, int] = Field(min_length=1)
    comparison: list[str] = []
    survey: Survey | None = None
    interviews: Interviews | None = None
    registry: Registry | None = None
    logic_chain: LogicChain | None = None
    validation: Validation = Validation()
    privacy: Privacy = Privacy()
    inference: Inference = Inference()
    output_dir: str = "output"
    root: Path = Path(".")
    source_file: Path | None = None

    @field_validator("geography_year")
    @classmethod
    def _geography_year(cls, v: int) -> int:
        valid_codes(v)  # a GeographyError (a ValueError) names the supported years
        return v

    @field_validator("network", mode="before")
    @classmethod
    def _network_keys(cls, v: Any, info) -> Any:
        year = info.data.get("geography_year")
        return {_kommune_key(k, year): y for k, y in v.items()} if isinstance(v, dict) else v

    @field_validator("comparison", mode="before")
    @classmethod
    def _comparison(cls, v: Any, info) -> Any:
        year = info.data.get("geography_year")
        return [_kommune_key(k, year) for k in v] if isinstance(v, list) else v

    @field_validator("network", "comparison", mode="after")
    @classmethod
    def _known_codes(cls, v: Any, info) -> Any:
        """Every code valid in the study's geography; each unknown one is its own problem
        (one line per code, ``<code>: why; hint``), with a did-you-mean hint."""
        year = info.data.get("geography_year")
        if not isinstance(year, int):
            return v
        try:
            codes = valid_codes(year)
        except ValueError:
            return v  # geography_year itself is reported
        bad = []
        for code in v:
            if code not in codes:
                hint = did_you_mean(code, year)
                what = "kommune code" if code.isdigit() else "kommune"
                bad.append(f"{code}: unknown {what} {code!r} for geography_year {year}"
                           + (f"; {hint}" if hint else ""))
        if bad:
            raise ValueError("\n".join(bad))
        return v

    @model_validator(mode="after")
    def _check(self) -> Study:
        if self.privacy.demo_pseudonym_key and not self.synthetic:
            raise ValueError(
                "privacy.demo_pseudonym_key is only allowed in a synthetic study; set the "
                "environment variable EVALUATION_PSEUDONYM_KEY instead"
            )
        both = set(self.network) & set(self.comparison)
        if both:
            raise ValueError(
                f"comparison: kommune(s) {sorted(both)} are both network and comparison"
            )
        if self.logic_chain:
            scales = set(self.survey.scales) if self.survey else set()
            inds = set(self.registry.indicators) if self.registry else set()
            chain = self.logic_chain
            for el in chain.outputs + chain.outcomes + chain.impact:
                for ref in el.indicators:
                    src, _, ident = ref.partition(":")
                    if src == "network":  # (self.network is the membership, not a source)
                        _check_network_ref(self, el.name, ref, ident)
                        continue
                    if getattr(self, src, None) is None:
                        raise ValueError(
                            f"logic_chain {el.name!r}: indicator {ref!r} needs the {src} "
                            f"evidence, but study.yaml has no '{src}' section (add the "
                            f"section, or remove {ref!r} from the logic chain)"
                        )
                    if src == "survey" and ident not in scales:
                        raise ValueError(f"logic_chain {el.name!r}: no survey scale {ident!r}")
                    if src == "registry" and ident not in inds:
                        raise ValueError(
                            f"logic_chain {el.name!r}: no registry indicator {ident!r}"
                        )
        return self

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Read and validate ``study.yaml`` (a folder holding it may be given)."""
        path = Path(path)
        if path.is_dir():
            path = path / "study.yaml"
        if not path.is_file():
            raise StudyConfigError(path, "no such study file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            row = mark.line + 1 if mark is not None else None
            raise StudyConfigError(path, f"not valid YAML: {exc}", row=row) from exc
        if not isinstance(data, dict):
            raise StudyConfigError(path, "expected a mapping of keys such as study, network, ...")
        for reserved in ("root", "source_file"):
            if reserved in data:
                raise StudyConfigError(path, f"key {reserved!r} is not allowed in study.yaml")
        try:
            return cls(**data, root=path.parent.resolve(), source_file=path.resolve())
        except ValidationError as exc:
            lines = _key_lines(path)
            problems = [p for err in exc.errors() for p in _describe_all(err, data, lines)]
            problems = list(dict.fromkeys(problems))  # one line per distinct problem
            if len(problems) == 1:
                line, msg = problems[0]
                error = StudyConfigError(path, f"line {line}: {msg}" if line else msg)
            else:
                listed = "\n".join(f"  - {'line ' + str(ln) + ': ' if ln else ''}{m}"
                                    for ln, m in sorted(problems, key=lambda p: p[0] or 0))
                error = StudyConfigError(path, f"{len(problems)} problems:\n{listed}")
            error.row = min((ln for ln, _ in problems if ln), default=None)
            raise error from None

    # ---- convenience ---------------------------------------------------------------------
    def path(self, relative: str | Path) -> Path:
        """A path from study.yaml, resolved against the study folder."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def output(self) -> Path:
        return self.path(self.output_dir)

    @property
    def kommuner(self) -> list[str]:
        return list(self.network) + list(self.comparison)

    def is_network(self, code: str) -> bool:
        return code in self.network

    @property
    def wave_ids(self) -> list[str]:
        return [w.id for w in self.survey.waves] if self.survey else []

    def wave(self, wave_id: str) -> Wave:
        for w in self.survey.waves if self.survey else []:
            if w.id == wave_id:
                return w
        raise StudyConfigError(
            self.source_file or "study.yaml",
            f"survey.waves: no wave {wave_id!r} (declared: {', '.join(self.wave_ids)})",
        )

    @property
    def baseline_wave(self) -> str:
        return next(w.id for w in self.survey.waves if w.role == "baseline")

    @property
    def followup_waves(self) -> list[str]:
        return [w.id for w in self.survey.waves if w.role == "followup"]

    def wave_file(self, wave_id: str) -> Path:
        """The landing file of a wave: ``file`` if given, else the one file in the survey
        landing folder whose name stem ends with the wave id."""
        w = self.wave(wave_id)
        if w.file:
            return self.path(w.file)
        folder = self.path(self.survey.landing)
        hits = sorted(p for p in folder.glob("*") if p.stem.endswith(wave_id) and p.is_file())
        if len(hits) != 1:
            raise StudyConfigError(
                folder,
                f"expected exactly one file named *{wave_id}.<csv|xlsx|sav|zsav|por> for wave "
                f"{wave_id}, found {len(hits)}",
            )
        return hits[0]

    def label(self, lab: Label | None, fallback: str) -> str:
        return lab.get(self.language) if lab else fallback


# ---- error reporting ---------------------------------------------------------------------------
def _key_lines(path: Path) -> dict[tuple, int]:
    """Line (1-based) of every key and list item in study.yaml, by its path of keys and
    list indices (``("logic_chain", "outcomes", 0)``), from pyyaml's node tree."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[tuple, int] = {}

    def walk(node: Any, trail: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = (*trail, str(k.value))
                out.setdefault(key, k.start_mark.line + 1)
                walk(v, key)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                out.setdefault((*trail, i), v.start_mark.line + 1)
                walk(v, (*trail, i))

    if root is not None:
        walk(root, ())
    return out


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _find_line(loc: tuple, lines: dict[tuple, int]) -> int | None:
    """The line of ``loc`` or of its nearest enclosing key (codes may be written 4021 or
    "4021"; pydantic's zero-padded key is looked up unpadded too)."""
    loc = tuple(loc)
    while loc:
        if loc in lines:
            return lines[loc]
        last = loc[-1]
        if isinstance(last, str) and last.isdigit() and (*loc[:-1], last.lstrip("0")) in lines:
            return lines[(*loc[:-1], last.lstrip("0"))]
        loc = loc[:-1]
    return None


def _model_key(msg: str, loc: tuple, data: dict) -> tuple[tuple, str]:
    """The key a model-level error concerns, from its message: ``"network: ..."``,
    ``"privacy.demo_pseudonym_key is ..."`` or ``"logic_chain 'name': ..."`` (the element of
    that name, e.g. ``logic_chain.outcomes[0]``). Returns (key path, message without it)."""
    import re

    m = re.match(r"^logic_chain '([^']*)':\s*(.*)$", msg, re.S)
    chain = data.get("logic_chain") if isinstance(data, dict) else None
    if m and loc:  # raised by the element itself: pydantic already located it
        return tuple(loc), f"{m.group(1)!r}: {m.group(2)}"
    if m and isinstance(chain, dict):
        for level in ("outputs", "outcomes", "impact"):
            for i, el in enumerate(chain.get(level) or []):
                if isinstance(el, dict) and el.get("name") == m.group(1):
                    return (*loc, "logic_chain", level, i), f"{m.group(1)!r}: {m.group(2)}"
    m = re.match(r"^([A-Za-z_]\w*(?:\.\w+|\[\d+\])*)(?::\s+|\s+(?=is |are |must ))(.*)$",
                 msg, re.S)
    if m:
        key = tuple(int(p) if p.isdigit() else p
                    for p in re.findall(r"[A-Za-z_]\w*|\d+", m.group(1)))
        head = key[0] if key else ""
        scope = data
        for part in loc:
            scope = scope.get(part) if isinstance(scope, dict) else (
                scope[part] if isinstance(scope, list) and isinstance(part, int)
                and part < len(scope) else None)
        fields = set(scope) if isinstance(scope, dict) else set()
        if head in fields or head in Study.model_fields:
            rest = m.group(2) if m.group(0).startswith(f"{m.group(1)}:") else msg
            return (*loc, *key), rest
    return tuple(loc), msg


def _describe(err: dict, data: dict, lines: dict[tuple, int]) -> tuple[int | None, str]:
    """(line, message) of one pydantic error, naming the key (never '(top level)')."""
    loc = tuple(err["loc"])
    kind = err["type"]
    text = str(err["msg"]).removeprefix("Value error, ")
    if kind == "value_error":
        loc, text = _model_key(text, loc, data)
    key = _dotted(loc)
    line = _find_line(loc, lines)
    if not key:  # about the study as a whole and naming no key: the message stands alone
        return None, text
    if kind == "extra_forbidden":
        return line, f"key {key!r} is not a known study.yaml key"
    if kind == "missing":
        return _find_line(loc[:-1], lines) if len(loc) > 1 else None, \
            f"required key {key!r} is missing"
    return line, f"key {key!r}: {text}"


def _describe_all(err: dict, data: dict, lines: dict[tuple, int]) -> list[tuple[int | None, str]]:
    """A value error listing several problems (one per line, ``<key>: message``, as the
    kommune code check raises) becomes one problem each, located at its own key."""
    text = str(err["msg"]).removeprefix("Value error, ")
    loc0 = err["loc"][0] if err["loc"] else None
    if err["type"] != "value_error" or ("\n" not in text and loc0 not in ("network",
                                                                           "comparison")):
        return [_describe(err, data, lines)]
    out = []
    for part in text.split("\n"):
        sub, _, msg = part.partition(": ")
        loc = tuple(err["loc"])
        key = (*loc, sub)
        if isinstance(data, dict) and isinstance(data.get(loc[0] if loc else None), list):
            items = [str(x).strip() for x in data[loc[0]]]
            stripped = sub.lstrip("0")
            idx = next((i for i, x in enumerate(items) if x in (sub, stripped)
                        or x.zfill(4) == sub), None)
            key = (*loc, idx) if idx is not None else loc
        line = _find_line(key, lines)
        out.append((line, f"key {_dotted(key)!r}: {msg}"))
    return out
