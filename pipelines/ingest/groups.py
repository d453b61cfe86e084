"""Custom groups of communes (FLOWS_GROUPS), e.g. the perimeter of one reciprocity contract:
checked before any heavy work, then copied to raw Parquet for dbt to re-base like any source."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..files import write_parquet_atomically

GROUPS_ID = "custom_groups"
GROUP_COLUMNS = ["group_id", "group_name", "commune_code"]
RESERVED_GROUP_IDS = {"outside"}  # the aggregation names the communes in no group so
MAX_GROUPS = 2_000
MAX_GROUPS_PER_COMMUNE = 10
MAX_GROUPS_FILE_BYTES = 32 << 20


class GroupsFileError(ValueError):
    """The FLOWS_GROUPS membership file is unreadable or lacks a column."""


def materialise_groups(path: str | None, out_dir: Path) -> dict:
    """Copy the membership CSV at `path` (FLOWS_GROUPS: group_id, group_name, commune_code) to raw Parquet.

    Without FLOWS_GROUPS the table is empty and no `group` level is published. A code unknown to
    every vintage of the commune reference and of its change history stops the run here, before
    any heavy work; a code that has since merged or split is re-based in dbt like any source's.
    """
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
