"""The contract format: ``data_contracts/<table>.yaml`` loaded and checked (pydantic models),
the column type classes, and the values a contract takes from the study (``{study: name}``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import PipelineError

CONTRACTS_ENV = "EVALUATION_CONTRACTS"
DEFAULT_CONTRACTS = Path(__file__).resolve().parents[2] / "data_contracts"

_TYPES = {
    "string": ["str", "object", "StringDtype"],
    "number": ["float64", "int64", "float32", "int32", "Float64Dtype", "Int64Dtype",
               "Int32Dtype"],
    "integer": ["int64", "int32", "Int64Dtype", "Int32Dtype"],
    "boolean": ["bool", "BooleanDtype"],
}


class ContractError(PipelineError, ValueError):
    """A contract file is missing or malformed."""


# ---- the contract format ---------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnSpec(_Strict):
    type: str = Field(pattern="^(string|number|integer|boolean)$")
    required: bool = False
    allowed: list[Any] | dict[str, str] | None = None
    regex: str | None = None
    min: float | None = None
    max: float | None = None
    personal: bool = False
    description: str | None = None


class When(_Strict):
    column: str
    is_null: bool | None = None
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")


class Pair(_Strict):
    column_a: str
    column_b: str
    or_equal: bool = True


class RowRule(_Strict):
    name: str
    description: str = ""
    column: str | None = None
    not_null: bool | None = None
    between: tuple[float | None, float | None] | None = None
    when: When | list[When] | None = None  # a list: every condition holds
    pair: Pair | None = None
    study_rule: str | None = Field(
        None, pattern="^(scale_ranges|kommune_valid_in_year|roster_ranges|roster_own_service)$")


class TableRule(_Strict):
    name: str
    description: str = ""
    min_rows: int | None = None
    count_distinct: str | None = None
    per: list[str] = []
    groups: dict[str, dict[str, str]] = {}
    min: int | dict[str, str] | None = None
    column: str | None = None
    contains: dict[str, str] | list[Any] | None = None


class Contract(_Strict):
    table: str
    description: str = ""
    columns: dict[str, ColumnSpec]
    unique: list[list[str]] = []
    row_rules: list[RowRule] = []
    table_rules: list[TableRule] = []


def contracts_dir() -> Path:
    return Path(os.environ.get(CONTRACTS_ENV) or DEFAULT_CONTRACTS)


@lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> Contract:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        return Contract(**data)
    except yaml.YAMLError as exc:
        raise ContractError(f"{p}: not valid YAML: {exc}") from exc
    except (ValidationError, TypeError) as exc:
        raise ContractError(f"{p}: not a valid contract: {exc}") from exc


def load_contract(table: str) -> Contract:
    """The contract of ``table`` from ``data_contracts/<table>.yaml``."""
    path = contracts_dir() / f"{table}.yaml"
    if not path.is_file():
        raise ContractError(f"no contract for table {table!r}: expected {path}")
    return _load(str(path), path.stat().st_mtime)


def contract_tables() -> list[str]:
    return sorted(p.stem for p in contracts_dir().glob("*.yaml"))


# ---- values the study supplies -----------------------------------------------------------------
def study_values(study, name: str) -> list[Any] | int | None:
    """A value set or number from the study, referred to as ``{study: <name>}`` in a contract.
    ``None`` means the study does not constrain it (the expectation is left out)."""
    from .. import geography

    survey = study.survey
    scales = survey.scales if survey else {}
    match name:
        case "waves":
            return study.wave_ids or None
        case "kommuner":
            return study.kommuner
        case "network":
            return list(study.network)
        case "roles":
            return list(survey.roles) if survey and survey.roles else None
        case "survey_items":
            if not survey:
                return None
            items = [i for s in scales.values() for i in s.items]
            roster = survey.collaboration.items() if survey.collaboration else []
            return items + roster + list(survey.free_text) + list(survey.other_items)
        case "scale_items":
            return [i for s in scales.values() for i in s.items] or None
        case "roster_items":
            return survey.collaboration.items() if survey and survey.collaboration else None
        case "interview_rounds":
            ivs = study.interviews
            return [r.id for r in ivs.rounds] if ivs and ivs.rounds else None
        case "indicators":
            return list(study.registry.indicators) if study.registry else None
        case "known_kommune_codes":
            return sorted(set(geography.known_codes()) | set(geography.klass_2026()))
        case "geography_codes":
            return sorted(geography.valid_codes(study.geography_year))
        case "min_respondents_per_kommune":
            return study.validation.min_respondents_per_kommune
    raise ContractError(f"unknown study value {name!r} in a contract")


def roster_blocks(study) -> dict[str, Any]:
    """The study's collaboration roster blocks by name (``frequency``, ``quality``)."""
    survey = getattr(study, "survey", None)
    c = survey.collaboration if survey else None
    if c is None:
        return {}
    return {"frequency": c.frequency, **({"quality": c.quality} if c.quality else {})}


def item_keys(study) -> dict[str, str]:
    """Every survey item the study declares -> the study.yaml key that declares it (e.g.
    ``survey.collaboration.frequency.items``), for messages about a missing item."""
    survey = getattr(study, "survey", None)
    if not survey:
        return {}
    keys = {i: f"survey.scales.{name}.items" for name, s in survey.scales.items()
            for i in s.items}
    for name, block in roster_blocks(study).items():
        keys.update({i: f"survey.collaboration.{name}.items" for i in block.items})
    keys.update({i: "survey.free_text" for i in survey.free_text})
    keys.update({i: "survey.other_items" for i in survey.other_items})
    return keys


def _resolve(study, ref: Any) -> Any:
    if isinstance(ref, dict) and set(ref) == {"study"}:
        return study_values(study, ref["study"])
    return ref
