"""What goes with the Parquet files of a release: CSV copies for spreadsheets, a Frictionless
`datapackage.json`, a data dictionary and a README card per table.

Column descriptions and a table's key are written once, in the dbt model YAML; table
descriptions and caveats once, in `assets/*.yml`; a table's licence is that of the sources it is
built from (their contracts). Everything here is generated from those.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import duckdb

from ..sql import sql_string

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no run time: same inputs, same bytes
FORMULA_START = "^[=+\\-@\\t\\r]"

FRICTIONLESS_TYPES = {
    "VARCHAR": "string", "VARCHAR[]": "array", "BOOLEAN": "boolean", "DOUBLE": "number", "FLOAT": "number",
    "INTEGER": "integer", "BIGINT": "integer", "SMALLINT": "integer", "HUGEINT": "integer",
}


# Frictionless names and texts of the licences the contracts name; another licence keeps its title only.
LICENCE_LINKS = {"Licence Ouverte / Etalab 2.0": ("etalab-2.0", "https://www.etalab.gouv.fr/licence-ouverte-open-licence/")}


def table_licence(sources: list[dict]) -> str:
    """A published table's licence: those of the sources it is built from (the citation names their producers)."""
    return "; ".join(sorted({s["licence"] for s in sources}))


def frictionless_licences(titles: set[str]) -> list[dict]:
    licences = []
    for title in sorted(titles):
        name, path = LICENCE_LINKS.get(title, (None, None))
        licences.append({"title": title, **({"name": name, "path": path} if name else {})})
    return licences


def frictionless_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "number"
    return FRICTIONLESS_TYPES.get(duckdb_type, "any")


SPREADSHEET_LINES = 1_048_576  # lines of one sheet in Excel and LibreOffice Calc


def write_csv_zip(con: duckdb.DuckDBPyConnection, model: str, sort_keys: tuple[str, ...], target: Path) -> dict:
    """`<table>.csv.zip`: UTF-8, comma-separated, with a header. Text cells that a spreadsheet would
    run as a formula (starting with = + - @, tab or carriage return) get a leading apostrophe;
    numbers are left as numbers."""
    columns = con.execute(f"DESCRIBE {model}").fetchall()
    select = ", ".join(
        f"CASE WHEN regexp_matches({name}, '{FORMULA_START}') THEN '''' || {name} ELSE {name} END AS {name}"
        if dtype == "VARCHAR" else name
        for name, dtype, *_ in columns
    )
    csv_path = target.with_suffix("")  # <table>.csv next to the zip, removed once zipped
    con.execute(f"COPY (SELECT {select} FROM {model} ORDER BY {', '.join(sort_keys)}) TO {sql_string(csv_path)} "
                "(FORMAT csv, HEADER true, DELIMITER ',')")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(csv_path.name, FIXED_ZIP_TIME), csv_path.read_bytes(),
                         compress_type=zipfile.ZIP_DEFLATED)
    csv_path.unlink()
    target.write_bytes(buffer.getvalue())
    return {"file": target.name, "bytes": target.stat().st_size, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}


def datapackage(manifest: dict, descriptors: dict, docs: dict[str, dict[str, str]]) -> dict:
    """A Frictionless Data Package describing the Parquet resources and their CSV copies."""
    licence_of = {s["source_id"]: s["licence"] for s in manifest["sources"]}
    resources = []
    for name, table in manifest["tables"].items():
        descriptor = descriptors[name]
        schema = {
            "fields": [{"name": c["name"], "type": frictionless_type(c["type"]),
                        "description": docs[name].get(c["name"], "")} for c in table["columns"]],
            "primaryKey": list(descriptor.sort_keys),
        }
        common = {"title": descriptor.title, "description": descriptor.description.strip(),
                  "licenses": frictionless_licences({licence_of[s] for s in table.get("sources", [])}),
                  "schema": schema}
        common["sources"] = [{"title": s, "path": f"manifest.json#sources/{s}"} for s in table.get("sources", [])]
        resources.append({"name": name, "path": table["file"], "format": "parquet",
                          "mediatype": "application/vnd.apache.parquet", "bytes": table["bytes"],
                          "hash": f"sha256:{table['sha256']}", **common})
        if "csv" in table:
            resources.append({"name": f"{name}_csv", "path": table["csv"]["file"], "format": "csv",
                              "compression": "zip", "mediatype": "text/csv", "encoding": "utf-8",
                              "bytes": table["csv"]["bytes"], "hash": f"sha256:{table['csv']['sha256']}", **common})
    return {
        "profile": "data-package",
        "name": "territorial-flows",
        "title": "Territorial flows between French urban and rural territories",
        "version": manifest["release_id"],
        "licenses": frictionless_licences(set(licence_of.values())),
        "sources": [{"title": f"{s['title']} ({s['producer']})", "path": s["landing_page"], "licence": s["licence"]}
                    for s in manifest["sources"]],
        "resources": resources,
    }


def data_dictionary(manifest: dict, descriptors: dict, docs: dict[str, dict[str, str]]) -> str:
    lines = [f"# Data dictionary — release {manifest['release_id']}", "",
             f"Commune geography: COG {manifest['settings']['target_cog']}. Formulas and caveats: docs/methods.md "
             "in the project repository.", ""]
    for name, table in manifest["tables"].items():
        descriptor = descriptors[name]
        lines += [f"## {name}", "", descriptor.description.strip(), "",
                  f"One row per {descriptor.grain}. {table['rows']} rows.", "",
                  "| column | type | description |", "|---|---|---|"]
        lines += [f"| `{c['name']}` | {c['type']} | {docs[name].get(c['name'], '').replace('|', '/')} |"
                  for c in table["columns"]]
        lines.append("")
    return "\n".join(lines)


def table_card(name: str, manifest: dict, descriptor, sources: list[dict]) -> str:
    table = manifest["tables"][name]
    release = manifest["release_id"]
    producers = sorted({s["producer"] for s in sources})
    lines = [f"# {descriptor.title} (`{name}`)", "", descriptor.description.strip(), "",
             "## What a row is", "", f"One row per {descriptor.grain}; {table['rows']} rows in this release. "
             f"Codes are text (keep the leading zeros, `2A`/`2B`); units are in the column names "
             "(`_workers`, `_ha`, `_mwh`, `_pct`, `_km`).", "",
             "## Files", "", f"- `{table['file']}` (Parquet, zstd, sorted by {', '.join(descriptor.sort_keys)})"]
    if "csv" in table:
        lines.append(f"- `{table['csv']['file']}` (CSV, UTF-8, comma-separated, for spreadsheets)")
    elif descriptor.format != "geoparquet":
        subset, suffix = (("WHERE level = 'epci'", "epci") if any(c["name"] == "level" for c in table["columns"])
                          else (f"LIMIT {SPREADSHEET_LINES - 1}", "first_rows"))
        lines.append(f"- no CSV copy: its {table['rows']:,} rows exceed the {SPREADSHEET_LINES:,} lines a spreadsheet "
                     f"sheet holds. Read the Parquet file (DuckDB, polars, QGIS), or take a subset as CSV, e.g. "
                     f"`duckdb -c \"COPY (SELECT * FROM '{table['file']}' {subset}) TO '{name}_{suffix}.csv'\"`")
    lines += ["", "## Caveats", ""] + [f"- {c}" for c in descriptor.caveats]
    lines += ["", "## How to cite", "",
              f"> Territorial flows warehouse, table `{name}`, release {release}, "
              f"derived from data of {', '.join(producers)}. {table['licence']}.", "",
              "## Licence", "", table["licence"], ""]
    return "\n".join(lines)
