"""Reading published Parquet over HTTP with DuckDB, for tests and the benchmark."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..sql import sql_string


def duckdb_with_httpfs() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with httpfs installed from its PyPI package (DuckDB cannot download
    extensions on machines without internet)."""
    import duckdb_extension_httpfs

    extension = next(Path(duckdb_extension_httpfs.__file__).parent.rglob("httpfs.duckdb_extension"))
    con = duckdb.connect()
    con.execute(f"INSTALL {sql_string(extension)}")
    con.execute("LOAD httpfs")
    return con
