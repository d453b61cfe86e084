"""Publish a release: `releases/<id>/<table>.parquet` + `manifest.json`, then `latest.json`.

The release is written into a hidden temporary directory beside the others and renamed into
place only when complete; `latest.json` moves last, by an atomic replace. A failure at any step
leaves the previous release and `latest.json` as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import yaml

from ..files import file_sha256, write_json_atomically
from ..ingest.contracts import PROJECT_ROOT
from ..sql import sql_string
from .docs import SPREADSHEET_LINES, data_dictionary, datapackage, table_card, table_licence, write_csv_zip
from .geoparquet import export_territories_geo
from .page import publish_site, release_page, write_home_page

ASSETS_DIR = PROJECT_ROOT / "assets"
# Row groups small enough that a query filtered on the sort keys over HTTP reads a small part of a
# national file (benchmarks/remote_query.py prints the fraction), large enough to compress well.
ROW_GROUP_ROWS = 32_768
PARQUET_OPTIONS = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"


@dataclass(frozen=True)
class TableDescriptor:
    """A published table (assets/<table>.yml). Its key, which orders its files, is its model's
    `unique_key` test in the dbt YAML; `sort_keys` in the descriptor only for a table whose rows
    are not its model's (territories_geo dissolves member communes)."""

    table: str
    model: str
    title: str
    description: str
    sort_keys: tuple[str, ...]
    caveats: tuple[str, ...] = ()
    title_fr: str = ""  # the title and a one-line summary in French, for the release page
    summary_fr: str = ""
    format: str = "parquet"  # parquet | geoparquet
    row_count_check: bool = True  # rows per year held against the latest release (FLOWS_ROWCOUNT_TOLERANCE)

    @property
    def grain(self) -> str:
        return " x ".join(self.sort_keys)


def load_descriptors(model_keys: dict[str, tuple[str, ...]], directory: Path = ASSETS_DIR) -> dict[str, TableDescriptor]:
    """The descriptors of assets/, each with its key: model_keys maps a dbt model to its unique key."""
    descriptors = {}
    for path in sorted(directory.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        keys = raw.get("sort_keys") or model_keys.get(raw["model"])
        if not keys:
            raise ValueError(f"{path.name}: model {raw['model']} has no unique_key test in its dbt YAML "
                             "and the descriptor gives no sort_keys")
        raw["sort_keys"] = tuple(keys)
        raw["caveats"] = tuple(raw.get("caveats", ()))
        descriptors[raw["table"]] = TableDescriptor(**raw)
    return descriptors


def next_release_id(releases: Path, today: date | None = None) -> str:
    """`YYYY.MM.DD`, then `YYYY.MM.DD.02`, `.03`... the same day: ids sort as text by date and order."""
    base = (today or datetime.now(timezone.utc).date()).strftime("%Y.%m.%d")
    taken = {p.name for p in releases.iterdir()} if releases.exists() else set()
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n:02d}" in taken:
        n += 1
    return f"{base}.{n:02d}"


def release_ids(out: Path) -> list[str]:
    releases = out / "releases"
    if not releases.exists():
        return []
    return sorted(p.name for p in releases.iterdir() if p.is_dir() and not p.name.startswith("."))


def apply_retention(out: Path, keep: int | None) -> list[str]:
    """Keep the newest `keep` releases (FLOWS_KEEP_RELEASES; all when None) and the one latest.json
    names, whatever its age. Returns the ids removed."""
    if keep is None:
        return []
    if keep < 1:
        raise ValueError(f"keep at least 1 release, not {keep}")
    current = read_latest(out)
    ids = release_ids(out)
    removed = [i for i in ids[:-keep] if current is None or i != current.name]
    for release_id in removed:
        shutil.rmtree(out / "releases" / release_id)
    return removed


def export_table(con: duckdb.DuckDBPyConnection, descriptor: TableDescriptor, target: Path) -> dict:
    if descriptor.format == "geoparquet":
        columns = export_territories_geo(con, descriptor.model, target)
    else:
        order = ", ".join(descriptor.sort_keys)
        con.execute(f"COPY (SELECT * FROM {descriptor.model} ORDER BY {order}) TO {sql_string(target)} ({PARQUET_OPTIONS})")
        columns = [{"name": n, "type": t} for n, t, *_ in con.execute(f"DESCRIBE {descriptor.model}").fetchall()]
    rows = con.execute(f"SELECT count(*) FROM {sql_string(target)}").fetchone()[0]
    return {
        "file": target.name,
        "title": descriptor.title,
        "grain": descriptor.grain,
        "rows": rows,
        "columns": columns,
        "bytes": target.stat().st_size,
        "sha256": file_sha256(target)[0],
    }


def publish(warehouse: Path, descriptors: dict[str, TableDescriptor], tables: list[str], provenance: list[dict],
            settings: dict, out: Path, column_docs: dict[str, dict[str, str]] | None = None,
            table_sources: dict[str, list[str]] | None = None, set_aside: list[dict] | None = None,
            keep: int | None = None, duckdb_config: dict | None = None, timings: dict | None = None,
            build: dict | None = None, carried: set[str] = frozenset(), carried_from: Path | None = None,
            ) -> tuple[Path, bool]:
    """Write a complete release of `tables` from the warehouse and point `latest.json` at it.

    column_docs: per table, column -> description (dbt YAML); table_sources: per table, the source
    ids it is built from (for the manifest, the citation and the data package); set_aside: per source
    vintage, what the run set aside (pipelines.warehouse.set_aside), kept in the manifest; keep: the
    releases to keep (None: all); duckdb_config: DuckDB's memory limit and threads (Settings);
    timings, when given, receives the seconds each published file took to write; build: what the
    run was built with (its build fingerprint), kept in the manifest; carried: tables whose files
    are taken from release `carried_from` as they are (their models were not rebuilt). Returns the
    release now current and whether it is new: when the tables and the source files are the same
    as in the latest release, nothing is published."""
    column_docs = column_docs or {t: {} for t in tables}
    table_sources = table_sources or {t: sorted(p["source_id"] for p in provenance) for t in tables}
    releases = out / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(releases)
    release_id = next_release_id(releases)
    publish_site(out)  # the release pages' shared script and DuckDB-WASM, before any page points at them
    staging = releases / f".tmp-{release_id}-{os.getpid()}"
    staging.mkdir()
    try:
        manifest = write_release(staging, release_id, warehouse, descriptors, tables, provenance, settings, column_docs,
                                 table_sources, set_aside, duckdb_config, timings, build, carried, carried_from)
        current = read_latest(out)
        if current is not None and same_content(manifest, json.loads((current / "manifest.json").read_text())):
            shutil.rmtree(staging)
            return current, False
        final = releases / release_id
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_json_atomically({"release_id": release_id, "path": f"releases/{release_id}"}, out / "latest.json")
    write_home_page(out, release_id)
    apply_retention(out, keep)
    return final, True


def write_release(staging: Path, release_id: str, warehouse: Path, descriptors: dict[str, TableDescriptor],
                  tables: list[str], provenance: list[dict],
                  settings: dict, column_docs: dict, table_sources: dict, set_aside: list[dict] | None = None,
                  duckdb_config: dict | None = None, timings: dict | None = None, build: dict | None = None,
                  carried: set[str] = frozenset(), carried_from: Path | None = None) -> dict:
    """Every file of a release into `staging`; returns its manifest."""
    timings = {} if timings is None else timings
    previous_tables = json.loads((carried_from / "manifest.json").read_text())["tables"] if carried else {}
    with duckdb.connect(str(warehouse), read_only=True, config=duckdb_config or {}) as con:
        # DuckDB writes an ordered COPY in order whatever its threads: identical inputs give identical
        # bytes (checked at national size with 1 to 3 threads, and by every nothing-changed run)
        manifest_tables = {}
        for t in sorted(tables):
            if t in carried:
                manifest_tables[t] = carry_table(previous_tables[t], carried_from, staging, timings)
            else:
                started = time.perf_counter()
                manifest_tables[t] = export_table(con, descriptors[t], staging / f"{t}.parquet")
                timings[f"{t}.parquet"] = time.perf_counter() - started
            manifest_tables[t]["sources"] = table_sources[t]
            manifest_tables[t]["licence"] = table_licence([p for p in provenance if p["source_id"] in table_sources[t]])
            if t not in carried and descriptors[t].format != "geoparquet" and fits_a_spreadsheet(manifest_tables[t]["rows"]):
                started = time.perf_counter()
                manifest_tables[t]["csv"] = write_csv_zip(con, descriptors[t].model, descriptors[t].sort_keys,
                                                          staging / f"{t}.csv.zip")
                timings[f"{t}.csv.zip"] = time.perf_counter() - started
        quarantine = con.execute(
            "SELECT source_id, split_part(quarantine_reason, ':', 1), count(*) FROM quarantine GROUP BY ALL ORDER BY ALL"
        ).fetchall() if "quarantine" in _relations(con) else []
    manifest = {
        "release_id": release_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings,
        "tables": manifest_tables,
        "sources": sorted(provenance, key=lambda p: p["source_id"]),
        "quarantine": [{"source_id": s, "reason": r, "rows": n} for s, r, n in quarantine],
        "set_aside": set_aside,
        **({"build": build} if build else {}),
    }
    write_json_atomically(manifest, staging / "manifest.json")
    write_json_atomically(datapackage(manifest, descriptors, column_docs), staging / "datapackage.json")
    (staging / "DATA_DICTIONARY.md").write_text(data_dictionary(manifest, descriptors, column_docs), encoding="utf-8")
    (staging / "index.html").write_text(release_page(manifest, descriptors, column_docs), encoding="utf-8")
    for t in sorted(tables):
        card = table_card(t, manifest, descriptors[t], [p for p in provenance if p["source_id"] in table_sources[t]])
        (staging / f"{t}.README.md").write_text(card, encoding="utf-8")
    return manifest


def carry_table(entry: dict, previous: Path, staging: Path, timings: dict) -> dict:
    """A table's files taken from the previous release as they are (a hard link, or a copy across
    file systems), with its manifest entry: no byte of it is rewritten."""
    files = [entry["file"]] + ([entry["csv"]["file"]] if "csv" in entry else [])
    for name in files:
        started = time.perf_counter()
        try:
            os.link(previous / name, staging / name)
        except OSError:
            shutil.copy2(previous / name, staging / name)
        timings[name] = time.perf_counter() - started
    return dict(entry)


def fits_a_spreadsheet(rows: int) -> bool:
    """A CSV copy is for spreadsheets: none for a table whose rows and header exceed a sheet (the
    card says so and how to take a subset)."""
    return rows + 1 <= SPREADSHEET_LINES


def same_content(new: dict, old: dict) -> bool:
    """Same tables with the same bytes, built from the same source files with the same settings."""
    def fingerprint(manifest: dict) -> tuple:
        tables = {t: m["sha256"] for t, m in manifest["tables"].items()}
        sources = {s["source_id"]: sorted(v["sha256"] for v in s["vintages"]) for s in manifest["sources"]}
        return tables, sources, manifest["settings"]

    return fingerprint(new) == fingerprint(old)


def remove_abandoned_staging(releases: Path) -> None:
    """Temporary release directories of runs that died (killed mid-publication) are removed."""
    for staging in releases.glob(".tmp-*"):
        pid = staging.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _process_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rows_by_year(path: Path, model: str | None) -> dict[int | None, int]:
    """Row counts per year of a table in the warehouse (model) or of a published Parquet file."""
    with duckdb.connect(str(path) if model else ":memory:", read_only=bool(model)) as con:
        relation = model or sql_string(path)
        columns = {c for c, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
        if "year" not in columns:
            return {None: con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]}
        return dict(con.execute(f"SELECT year, count(*) FROM {relation} GROUP BY year").fetchall())


def vintages_that_lost_rows(provenance: dict, previous_manifest: dict, tolerance: float) -> list[str]:
    """The vintages of one source that the previous release published with more rows than now,
    beyond `tolerance` (a fraction), each as a sentence."""
    before = {v["vintage"]: v["rows"] for s in previous_manifest.get("sources", []) if s["source_id"] == provenance["source_id"]
              for v in s["vintages"]}
    lost = []
    for vintage in provenance["vintages"]:
        published = before.get(vintage["vintage"])
        if published and vintage["rows"] < published * (1 - tolerance):
            lost.append(f"vintage {vintage['vintage']}: {published:,} rows in release {previous_manifest['release_id']}, "
                        f"{vintage['rows']:,} now ({vintage['rows'] / published - 1:+.1%})")
    return lost


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


class LatestPointerError(RuntimeError):
    """latest.json is unreadable or names a release that is not there."""


def read_latest(out: Path) -> Path | None:
    """The release latest.json names; None when nothing was published. LatestPointerError when the
    pointer is corrupt or names a missing or incomplete release (heal_latest repairs it)."""
    pointer = out / "latest.json"
    if not pointer.exists():
        return None
    try:
        release = out / json.loads(pointer.read_text(encoding="utf-8"))["path"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LatestPointerError(f"{pointer} is not a valid release pointer ({exc})") from None
    if not (release / "manifest.json").is_file():
        raise LatestPointerError(f"{pointer} names {release}, which is missing or incomplete (no manifest.json)")
    return release


def complete_releases(out: Path) -> list[Path]:
    """Releases with their manifest (written last), oldest first."""
    return [out / "releases" / i for i in release_ids(out) if (out / "releases" / i / "manifest.json").is_file()]


def heal_latest(out: Path) -> str | None:
    """Point a corrupt or dangling latest.json at the newest complete release (or remove it when
    there is none); returns what was done, or None when the pointer was sound."""
    try:
        read_latest(out)
        return None
    except LatestPointerError as exc:
        problem = str(exc)
    complete = complete_releases(out)
    if not complete:
        (out / "latest.json").unlink()
        (out / "index.html").unlink(missing_ok=True)
        return f"{problem}; no complete release is left, so latest.json was removed"
    newest = complete[-1].name
    write_json_atomically({"release_id": newest, "path": f"releases/{newest}"}, out / "latest.json")
    write_home_page(out, newest)
    return f"{problem}; latest.json now names the newest complete release, {newest}"
