"""Raw layer: fetch every vintage of a source, parse it, write one Parquet file per source.

Next to `<source>.parquet` goes `<source>.provenance.json` (URL, sha256, rows per vintage) that
the publish step copies into the release manifest.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from .contracts import Contract, load_contracts
from .fetch import FetchSettings, fetch
from .geography import ANY_VINTAGE, events_from_mouvements, passage_table, target_cog_year
from .parse import parse_file

PASSAGE_ID = "commune_passage"
GROUPS_ID = "custom_groups"
CENTROIDS_ID = "commune_centroids"
CONTOURS_ID = "etalab_contours_communes"
GROUP_COLUMNS = ["group_id", "group_name", "commune_code"]
RESERVED_GROUP_IDS = {"outside"}  # the aggregation names the communes in no group so
MAX_GROUPS = 2_000
MAX_GROUPS_PER_COMMUNE = 10
MAX_GROUPS_FILE_BYTES = 32 << 20


class GroupsFileError(ValueError):
    """The FLOWS_GROUPS membership file is unreadable or lacks a column."""


def data_dir() -> Path:
    return Path(os.environ.get("FLOWS_DATA", "data")).resolve()  # relative: from the current directory


def raw_dir() -> Path:
    return data_dir() / "raw"


def write_parquet_atomically(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_json_atomically(payload: dict, path: Path) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def materialise_source(contract: Contract, settings: FetchSettings | None = None, out_dir: Path | None = None) -> dict:
    """Fetch and parse all vintages of one source; return its provenance record."""
    out_dir = out_dir or raw_dir()
    settings = settings or FetchSettings.from_env()
    frames, vintages = [], []
    for vintage in contract.vintages:
        fetched = fetch(vintage.url, contract.id, settings)
        frame = parse_file(contract, vintage, fetched.path)
        frames.append(frame)
        vintages.append({
            "vintage": vintage.vintage,
            "geography": vintage.geography,
            "url": vintage.url,
            "fetched_from": "mirror" if fetched.url != vintage.url else "official",
            "sha256": fetched.sha256,
            "bytes": fetched.size,
            "rows": frame.height,
            "retrieved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
    table = pl.concat(frames, how="diagonal_relaxed").sort(["vintage", "source_row"])
    write_parquet_atomically(table, out_dir / f"{contract.id}.parquet")
    provenance = {
        "source_id": contract.id,
        "title": contract.title,
        "producer": contract.producer,
        "licence": contract.licence,
        "landing_page": contract.landing_page,
        "rows": table.height,
        "vintages": sorted(vintages, key=lambda v: v["vintage"]),
    }
    write_json_atomically(provenance, out_dir / f"{contract.id}.provenance.json")
    return provenance


def materialise_passage(contracts: dict[str, Contract] | None = None, out_dir: Path | None = None) -> dict:
    """Build the commune passage table from the raw change history and populations."""
    contracts = contracts or load_contracts()
    out_dir = out_dir or raw_dir()
    target = target_cog_year([v.vintage for v in contracts["insee_cog_communes"].vintages])
    mouvements = pl.read_parquet(out_dir / "insee_cog_mouvements.parquet")
    mouvements = mouvements.filter(pl.col("vintage") == mouvements["vintage"].max())
    populations = pl.read_parquet(out_dir / "insee_populations_legales.parquet").filter(
        pl.col("municipal_population").str.contains(r"^\d+$")
    )
    population = {
        populations_commune_code(dep, number): float(pop)
        for dep, number, pop in populations.select("departement_code", "commune_number", "municipal_population").iter_rows()
    }
    geographies = sorted({v.geography for c in contracts.values() for v in c.vintages} | {ANY_VINTAGE})
    table = passage_table(events_from_mouvements(mouvements), geographies, target, population)
    write_parquet_atomically(table, out_dir / f"{PASSAGE_ID}.parquet")
    return {"target_cog": target, "rows": table.height, "geographies": geographies}


def populations_commune_code(departement: str, number: str) -> str:
    """The commune code from the populations légales' DEP and CODCOM (as staging builds it):
    01 + 001, 2A + 004; overseas either 971 + 01 or 971 (97) + 101, all giving 97101."""
    departement, number = departement.strip().upper(), number.strip()
    if len(departement) == 3 and len(number) == 2:
        return departement + number
    return departement[:2] + number


def materialise_groups(out_dir: Path | None = None) -> dict:
    """Copy the `FLOWS_GROUPS` membership CSV (group_id, group_name, commune_code) to raw Parquet.

    Without FLOWS_GROUPS the table is empty and no `group` level is published. A code unknown to
    every vintage of the commune reference and of its change history stops the run here, before
    any heavy work; a code that has since merged or split is re-based in dbt like any source's.
    """
    out_dir = out_dir or raw_dir()
    path = os.environ.get("FLOWS_GROUPS")
    schema = {c: pl.String for c in GROUP_COLUMNS}
    if not path:
        frame = pl.DataFrame(schema=schema)
    else:
        if Path(path).is_file() and Path(path).stat().st_size > MAX_GROUPS_FILE_BYTES:
            raise GroupsFileError(f"FLOWS_GROUPS file {path} weighs {Path(path).stat().st_size:,} bytes, more than "
                                  f"{MAX_GROUPS_FILE_BYTES:,}: a membership file of every commune in 10 groups is far smaller")
        try:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8")
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise GroupsFileError(f"FLOWS_GROUPS file {path} is unreadable as CSV: {exc}") from exc
        missing = [c for c in GROUP_COLUMNS if c not in frame.columns]
        if missing:
            raise GroupsFileError(f"FLOWS_GROUPS file {path} lacks columns {missing}; it has {frame.columns}")
        frame = frame.select(GROUP_COLUMNS)
    frame = frame.with_row_index("source_row", offset=2).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.lit(Path(path).name if path else "").alias("source_file"))
    if path:
        check_group_rows(frame, path)
        check_group_codes(frame, path, known_commune_codes(out_dir))
    write_parquet_atomically(frame, out_dir / f"{GROUPS_ID}.parquet")
    return {"file": path or "", "groups": frame["group_id"].n_unique(), "rows": frame.height}


def check_group_rows(frame: pl.DataFrame, path: str) -> None:
    """Refuse, before any heavy work, a groups file the warehouse cannot honour: a reserved group
    id, a commune listed twice in a group, more groups or more groups per commune than the limits
    (aggregation cost grows with the square of the memberships of a commune)."""
    ids = frame["group_id"].str.strip_chars()
    reserved = frame.filter(ids.str.to_lowercase().is_in(list(RESERVED_GROUP_IDS)))
    if reserved.height:
        raise GroupsFileError(f"FLOWS_GROUPS file {path}, column group_id, line {reserved['source_row'][0]}: "
                              f"{reserved['group_id'][0]!r} is reserved (it names the communes in no group); rename the group")
    keyed = frame.with_columns(ids.alias("group"), pl.col("commune_code").map_elements(
        normalised_commune_code, return_dtype=pl.String).alias("commune"))
    repeated = keyed.filter(pl.struct("group", "commune").is_duplicated()).sort("source_row")
    if repeated.height:
        lines = ", ".join(f"{g} / {c} (line {r})" for g, c, r in repeated.select("group", "commune", "source_row").head(10).iter_rows())
        raise GroupsFileError(f"FLOWS_GROUPS file {path}: a commune is listed twice in the same group: {lines}; keep one row each")
    groups = keyed["group"].n_unique()
    if groups > MAX_GROUPS:
        raise GroupsFileError(f"FLOWS_GROUPS file {path}: {groups:,} groups, more than the {MAX_GROUPS:,} the warehouse accepts")
    busiest = keyed.group_by("commune").agg(pl.len().alias("groups"), pl.col("source_row").min()).sort("groups").tail(1)
    if busiest.height and busiest["groups"][0] > MAX_GROUPS_PER_COMMUNE:
        raise GroupsFileError(
            f"FLOWS_GROUPS file {path}: commune {busiest['commune'][0]} (first at line {busiest['source_row'][0]}) is in "
            f"{busiest['groups'][0]} groups, more than {MAX_GROUPS_PER_COMMUNE}: overlapping groups multiply the flows "
            "to aggregate; split the file into several runs")


def normalised_commune_code(code: str | None) -> str:
    """As dbt's commune_code macro: trimmed, upper-cased, 1 to 4 digits left-padded to 5."""
    code = (code or "").strip().upper()
    return code.zfill(5) if code.isdigit() and len(code) < 5 else code


def known_commune_codes(out_dir: Path) -> set[str]:
    """Every code of every vintage of the commune reference (arrondissements included) and of its
    change history: a code outside this set exists in no geography the pipeline knows."""
    needed = [out_dir / "insee_cog_communes.parquet", out_dir / "insee_cog_mouvements.parquet"]
    if not all(p.exists() for p in needed):
        raise GroupsFileError("FLOWS_GROUPS is checked against insee_cog_communes and insee_cog_mouvements: "
                              "add both to FLOWS_SOURCES")
    codes = set(pl.read_parquet(out_dir / "insee_cog_communes.parquet", columns=["commune_code"])["commune_code"])
    history = pl.read_parquet(out_dir / "insee_cog_mouvements.parquet", columns=["code_before", "code_after"])
    codes |= set(history["code_before"]) | set(history["code_after"])
    return {normalised_commune_code(c) for c in codes if c}


def check_group_codes(frame: pl.DataFrame, path: str, known: set[str]) -> None:
    unknown = [(row, code) for row, code in frame.select("source_row", "commune_code").iter_rows()
               if normalised_commune_code(code) not in known]
    if unknown:
        listed = ", ".join(f"{code or '(empty)'} (line {row})" for row, code in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise GroupsFileError(
            f"FLOWS_GROUPS file {path}, column commune_code: {len(unknown)} code(s) unknown to every vintage of the "
            f"commune reference and its change history: {listed}{more}. Correct them (5 characters, e.g. 01004, 2A004)."
        )


def materialise_centroids(out_dir: Path | None = None) -> dict:
    """Centroid (longitude, latitude, EPSG:4326) of each commune of the latest boundaries.

    Distances are optional: without boundaries the table is empty and distances are null.
    """
    import shapely

    out_dir = out_dir or raw_dir()
    schema = {"commune_code": pl.String, "longitude": pl.Float64, "latitude": pl.Float64}
    contours_path = out_dir / f"{CONTOURS_ID}.parquet"
    if not contours_path.exists():
        frame = pl.DataFrame(schema=schema)
    else:
        contours = pl.read_parquet(contours_path)
        contours = contours.filter(pl.col("vintage") == contours["vintage"].max(), pl.col("geometry_wkb").is_not_null())
        centroids = shapely.centroid(shapely.from_wkb(contours["geometry_wkb"].to_list()))
        frame = pl.DataFrame({
            "commune_code": contours["commune_code"],
            "longitude": shapely.get_x(centroids).round(6),
            "latitude": shapely.get_y(centroids).round(6),
        }, schema=schema)
    write_parquet_atomically(frame, out_dir / f"{CENTROIDS_ID}.parquet")
    return {"communes": frame.height}
