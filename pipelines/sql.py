"""Values that reach DuckDB as SQL text (file paths in COPY ... TO, read_parquet, INSTALL, which
take no bound parameters) go through here: quoted, with quotes doubled, so that a path like
`Côte-d'Or/publié` is a path and never SQL."""

from __future__ import annotations

from pathlib import Path


def sql_string(value: str | Path) -> str:
    """A SQL string literal holding `value` exactly."""
    return "'" + str(value).replace("'", "''") + "'"
