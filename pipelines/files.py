"""Files written whole or not at all (a temporary file renamed into place), and their hashes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import polars as pl

CHUNK = 1 << 20


def write_parquet_atomically(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """Write `frame` (a lazy one streamed, never whole in memory) to a temporary file, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    write = frame.sink_parquet if isinstance(frame, pl.LazyFrame) else frame.write_parquet
    write(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_text_atomically(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomically(payload: dict, path: Path) -> None:
    write_text_atomically(json.dumps(payload, indent=2, ensure_ascii=False, sort_keys=True) + "\n", path)


def file_sha256(path: Path) -> tuple[str, int]:
    """The sha256 (hex) and size of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
