"""How much of the machine DuckDB may use: one setting, FLOWS_MEMORY_LIMIT, for dbt's build and
the publication; beyond it DuckDB spills to a temporary directory under FLOWS_DATA, which a run
empties first (what a killed run left there is never read again)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
DEFAULT_SHARE_OF_RAM = 0.6  # room for the operating system, Python and the Parquet writers


def memory_limit() -> str:
    """FLOWS_MEMORY_LIMIT (e.g. `4GB`, `1500MiB`), or 60 % of the machine's memory."""
    setting = os.environ.get("FLOWS_MEMORY_LIMIT", "").strip()
    if setting:
        if not MEMORY.fullmatch(setting):
            raise ValueError(f"FLOWS_MEMORY_LIMIT={setting!r} is not an amount of memory such as 4GB or 1500MiB")
        return setting.replace(" ", "")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * DEFAULT_SHARE_OF_RAM) >> 20}MiB"


def fresh_temp_directory(data: Path) -> Path:
    """DuckDB's spill directory under the data directory, emptied (call it holding the run lock)."""
    temp = data / "duckdb_tmp"
    shutil.rmtree(temp, ignore_errors=True)
    shutil.rmtree(data / "warehouse.duckdb.tmp", ignore_errors=True)  # DuckDB's default, used by earlier versions
    temp.mkdir(parents=True)
    return temp
