"""Source contracts: one YAML file per public dataset in `sources/`.

A contract says where each vintage of a dataset is published, how the file is packaged and
encoded, and which columns it must contain. Column headers may be templates filled from the
vintage (`NBFLUX_C{yy}_ACTOCC15P`), so adding a vintage means editing YAML, not Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCES_DIR = PROJECT_ROOT / "sources"

COLUMN_TYPES = {"code", "text", "integer", "decimal"}
# The share of its rows a vintage already published may lose when fetched again before publication
# is blocked (a producer's file cut short); `row_tolerance` in a contract overrides it.
DEFAULT_ROW_TOLERANCE = 0.02
FORMAT_KINDS = {"csv", "xlsx", "geojson"}


class ContractError(ValueError):
    """A contract file is malformed (a bug in `sources/`, not in the producer's data)."""


@dataclass(frozen=True)
class FileFormat:
    kind: str = "csv"
    packaging: str = "plain"  # plain | zip | gzip
    member: str | None = None  # fnmatch pattern of the archive member to read
    separator: str = ";"
    encoding: str = "utf-8"
    header_row: int = 1  # 1-based line (csv) or row (xlsx) holding the column names
    sheet: str | None = None
    decimal: str = "."


@dataclass(frozen=True)
class Column:
    name: str  # stable name in the raw Parquet
    header: str  # spelling in the producer's file, may hold {yy} {zz} {yyyy}
    type: str
    per_year: bool = False  # one such column per year of the vintage's `years`
    required: bool = True
    description: str = ""

    def header_for(self, variables: dict[str, str]) -> str:
        return self.header.format(**variables)


@dataclass(frozen=True)
class Vintage:
    vintage: int
    url: str
    geography: int  # COG year of the commune codes in this file
    format: FileFormat
    variables: dict[str, str]
    years: tuple[int, ...] = ()  # years covered by per-year columns


@dataclass(frozen=True)
class Contract:
    id: str
    title: str
    producer: str
    licence: str
    landing_page: str
    description: str
    columns: tuple[Column, ...]
    vintages: tuple[Vintage, ...]
    key: tuple[str, ...] = ()  # columns that identify a row in the producer's file (per year when per_year)
    row_tolerance: float = DEFAULT_ROW_TOLERANCE
    path: Path = field(compare=False, default=PROJECT_ROOT)

    def vintage(self, year: int) -> Vintage:
        for v in self.vintages:
            if v.vintage == year:
                return v
        raise ContractError(f"source {self.id}: no vintage {year} in {self.path.name}")

    @property
    def latest(self) -> Vintage:
        return max(self.vintages, key=lambda v: v.vintage)

    @property
    def has_per_year_columns(self) -> bool:
        return any(c.per_year for c in self.columns)


def year_variables(year: int) -> dict[str, str]:
    """Template variables of one year: `{yyyy}` 2021, `{yy}` 21, `{zz}` the next year, 22."""
    return {"yyyy": str(year), "yy": f"{year % 100:02d}", "zz": f"{(year + 1) % 100:02d}"}


def _format(raw: dict | None, base: FileFormat | None = None) -> FileFormat:
    merged = dict(vars(base)) if base else {}
    merged.update(raw or {})
    fmt = FileFormat(**merged)
    if fmt.kind not in FORMAT_KINDS:
        raise ContractError(f"unknown format kind {fmt.kind!r}")
    if fmt.packaging not in {"plain", "zip", "gzip"}:
        raise ContractError(f"unknown packaging {fmt.packaging!r}")
    return fmt


def _vintage(raw: dict, base_format: FileFormat) -> Vintage:
    year = int(raw["vintage"])
    variables = year_variables(year)
    variables.update({k: str(v) for k, v in (raw.get("variables") or {}).items()})
    years = raw.get("years") or ()
    if isinstance(years, dict):
        years = range(int(years["from"]), int(years["to"]) + 1)
    return Vintage(
        vintage=year,
        url=raw["url"],
        geography=int(raw.get("geography", year)),
        format=_format(raw.get("format"), base_format),
        variables=variables,
        years=tuple(int(y) for y in years),
    )


def load_contract(path: Path) -> Contract:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        base_format = _format(raw.get("format"))
        columns = tuple(Column(**c) for c in raw["columns"])
        vintages = tuple(_vintage(v, base_format) for v in raw["vintages"])
        contract = Contract(
            id=raw["id"],
            title=raw["title"],
            producer=raw["producer"],
            licence=raw["licence"],
            landing_page=raw["landing_page"],
            description=raw.get("description", "").strip(),
            columns=columns,
            vintages=vintages,
            key=tuple(raw.get("key") or ()),
            row_tolerance=float(raw.get("row_tolerance", DEFAULT_ROW_TOLERANCE)),
            path=path,
        )
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ContractError(f"contract {path.name} is malformed: {exc}") from exc
    if contract.id != path.stem:
        raise ContractError(f"contract {path.name} has id {contract.id!r}, expected {path.stem!r}")
    unknown_key = [k for k in contract.key if k not in {c.name for c in columns}]
    if unknown_key:
        raise ContractError(f"contract {path.name}: key columns {unknown_key} are not among its columns")
    for column in columns:
        if column.type not in COLUMN_TYPES:
            raise ContractError(f"contract {path.name}: column {column.name} has unknown type {column.type!r}")
        if column.per_year and not all(v.years for v in vintages):
            raise ContractError(f"contract {path.name}: per-year column {column.name} needs `years` on every vintage")
    return contract


def load_contracts(directory: Path = SOURCES_DIR) -> dict[str, Contract]:
    return {p.stem: load_contract(p) for p in sorted(directory.glob("*.yml"))}


def selected_source_ids(all_ids: list[str], wanted: list[str]) -> list[str]:
    """The sources `wanted` (FLOWS_SOURCES), or all of them when none is."""
    if not wanted:
        return sorted(all_ids)
    unknown = sorted(set(wanted) - set(all_ids))
    if unknown:
        raise ContractError(
            f"FLOWS_SOURCES names unknown sources {unknown}; known ids: {', '.join(sorted(all_ids))}"
        )
    return sorted(set(wanted))
