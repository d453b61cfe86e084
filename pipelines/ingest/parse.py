"""Decode one producer file (csv or xlsx, plain or zipped) into raw rows, as its contract says.

Raw rows keep the producer's values as text (typing and quarantine happen in dbt staging), under
the contract's stable column names, with the vintage, the geography year and the line or row
number in the producer's file so that any later error can point back at it.
"""

from __future__ import annotations

import codecs
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import shapely

from .contracts import Column, Contract, Vintage, year_variables
from .archives import DEFAULT_MAX_UNCOMPRESSED, ArchiveError, open_member, read_gzip


class SourceFormatError(ValueError):
    """A producer's file does not match its contract."""

    def __init__(self, source_id: str, file: str, problem: str):
        super().__init__(f"source {source_id}, file {file}: {problem}")
        self.source_id, self.file, self.problem = source_id, file, problem


def parse_file(contract: Contract, vintage: Vintage, path: Path, file_name: str | None = None,
               max_bytes: int = DEFAULT_MAX_UNCOMPRESSED) -> pl.DataFrame:
    """Read `path` (the cached download of `vintage`) into a frame of raw rows; an archive may
    expand to `max_bytes` at most."""
    fmt = vintage.format
    file_name = file_name or Path(vintage.url).name
    try:
        if fmt.packaging == "zip":
            member, payload = open_member(path, fmt.member, max_bytes)
            file_name = f"{file_name}!{member}"
        elif fmt.packaging == "gzip":
            payload = read_gzip(path, max_bytes)
        else:
            payload = path.read_bytes()
    except ArchiveError as exc:
        raise SourceFormatError(contract.id, file_name, str(exc)) from exc
    if fmt.kind == "csv":
        table = _read_csv(contract, vintage, payload, file_name)
    elif fmt.kind == "xlsx":
        table = _read_xlsx(contract, vintage, payload, file_name)
    else:
        table = _read_geojson(contract, payload, file_name)
    frame = mark_duplicate_keys(contract, _select_columns(contract, vintage, table, file_name))
    return frame.with_columns(
        pl.lit(vintage.vintage, pl.Int32).alias("vintage"),
        pl.lit(vintage.geography, pl.Int32).alias("geography"),
        pl.lit(file_name).alias("source_file"),
    )


def mark_duplicate_keys(contract: Contract, frame: pl.DataFrame) -> pl.DataFrame:
    """`duplicate_of_row`: for a row whose key (the contract's `key`, per year for per-year columns)
    an earlier row of the same file already has, that row's number; staging sets such rows aside
    instead of summing them twice. Null everywhere for a source without a key."""
    if not contract.key:
        return frame.with_columns(pl.lit(None, pl.Int64).alias("duplicate_of_row"))
    keys = [pl.col(k).str.strip_chars().str.to_uppercase() for k in contract.key]
    if "year" in frame.columns and "year" not in contract.key:
        keys.append(pl.col("year"))
    first = pl.col("source_row").min().over(keys)
    return frame.with_columns(pl.when(first != pl.col("source_row")).then(first).alias("duplicate_of_row"))


def _read_csv(contract: Contract, vintage: Vintage, payload: bytes, file_name: str) -> pl.DataFrame:
    fmt = vintage.format
    utf8 = fmt.encoding.lower().replace("_", "-") in ("utf-8", "utf8")
    try:
        text = payload.decode("utf-8-sig" if utf8 else fmt.encoding)
    except UnicodeDecodeError as exc:
        line = payload[: exc.start].count(b"\n") + 1
        raise SourceFormatError(
            contract.id, file_name, f"line {line} is not valid {fmt.encoding} (byte {payload[exc.start]:#x}); "
            "the producer may have changed the encoding"
        ) from exc
    if utf8:  # checked: polars reads the bytes themselves, not a second copy of a text of hundreds of MB
        del text
        source = payload[len(codecs.BOM_UTF8):] if payload.startswith(codecs.BOM_UTF8) else payload
    else:
        source = io.StringIO(text)
    try:
        table = pl.read_csv(
            source,
            separator=fmt.separator,
            skip_rows=fmt.header_row - 1,
            infer_schema=False,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise SourceFormatError(contract.id, file_name, f"unreadable as CSV with separator {fmt.separator!r}: {exc}") from exc
    first_data_line = fmt.header_row + 1
    return table.with_row_index("source_row", offset=first_data_line)


def _read_xlsx(contract: Contract, vintage: Vintage, payload: bytes, file_name: str) -> pl.DataFrame:
    fmt = vintage.format
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types on a broken workbook
        raise SourceFormatError(contract.id, file_name, f"not a readable xlsx workbook: {exc}") from exc
    if fmt.sheet not in workbook.sheetnames:
        raise SourceFormatError(contract.id, file_name, f"no sheet {fmt.sheet!r}; sheets are {workbook.sheetnames}")
    rows = workbook[fmt.sheet].iter_rows(min_row=fmt.header_row, values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    records = [[_cell_text(v) for v in row] for row in rows if any(v is not None for v in row)]
    workbook.close()
    columns = {name: [r[i] if i < len(r) else None for r in records] for i, name in enumerate(header) if name}
    table = pl.DataFrame(columns, schema={name: pl.String for name in columns})
    return table.with_row_index("source_row", offset=fmt.header_row + 1)


def _read_geojson(contract: Contract, payload: bytes, file_name: str) -> pl.DataFrame:
    """Feature properties as text columns plus `geometry_wkb`; row numbers count features from 1."""
    try:
        features = json.loads(payload)["features"]
        properties = [{k: _cell_text(v) for k, v in (f.get("properties") or {}).items()} for f in features]
        geometries = shapely.to_wkb([shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None for f in features])
    except (ValueError, KeyError, TypeError, shapely.errors.ShapelyError) as exc:
        raise SourceFormatError(contract.id, file_name, f"not a GeoJSON feature collection: {exc}") from exc
    names = sorted({k for p in properties for k in p})
    table = pl.DataFrame([{n: p.get(n) for n in names} for p in properties], schema={n: pl.String for n in names}, orient="row")
    return table.with_columns(pl.Series("geometry_wkb", list(geometries), dtype=pl.Binary)).with_row_index("source_row", offset=1)


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _select_columns(contract: Contract, vintage: Vintage, table: pl.DataFrame, file_name: str) -> pl.DataFrame:
    by_folded = {_fold(h): h for h in table.columns if h not in ("source_row", "geometry_wkb")}
    expected: dict[tuple[Column, int | None], str] = {}
    for column in contract.columns:
        for year in vintage.years if column.per_year else [None]:
            variables = {**vintage.variables, **(year_variables(year) if year else {})}
            expected[(column, year)] = column.header_for(variables)
    missing = [h for (c, _), h in expected.items() if c.required and _fold(h) not in by_folded]
    if missing:
        known = {_fold(h) for h in expected.values()}
        unexpected = [h for f, h in by_folded.items() if f not in known]
        raise SourceFormatError(
            contract.id, file_name,
            f"missing columns {missing}; columns present but not in the contract: {unexpected[:20]}",
        )
    decimal_comma = vintage.format.decimal == ","

    def pick(column: Column, year: int | None) -> pl.Expr:
        header = by_folded.get(_fold(expected[(column, year)]))
        value = pl.col(header).str.strip_chars() if header else pl.lit(None, pl.String)
        if decimal_comma and column.type == "decimal":
            value = value.str.replace_all(r"[\s\u00a0\u202f]", "").str.replace(",", ".", literal=True)
        return value.alias(column.name)

    fixed = [c for c in contract.columns if not c.per_year]
    per_year = [c for c in contract.columns if c.per_year]
    base = [pl.col("source_row").cast(pl.Int64)] + [pick(c, None) for c in fixed]
    if "geometry_wkb" in table.columns:
        base.append(pl.col("geometry_wkb"))
    if not per_year:
        return table.select(base)
    frames = [
        table.select(base + [pl.lit(year, pl.Int32).alias("year")] + [pick(c, year) for c in per_year])
        for year in vintage.years
    ]
    return pl.concat(frames)


def _fold(header: str) -> str:
    return header.strip().lstrip("\ufeff").lower()
