"""Which release the warehouse holds, so that a run may rebuild only what depends on the sources
that changed since (`flows run`).

A run records the release it built once that release is published (or found unchanged), with its
build fingerprint; dbt forgets the record before it writes to the warehouse, so that a run that
stops half-way never leaves a record that the warehouse no longer matches.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..files import write_json_atomically

STATE_FILE = "warehouse_state.json"


def record_built_release(data: Path, release_id: str, fingerprint: str) -> None:
    write_json_atomically({"release_id": release_id, "fingerprint": fingerprint}, data / STATE_FILE)


def forget_built_release(data: Path) -> None:
    (data / STATE_FILE).unlink(missing_ok=True)


def holds_release(data: Path, warehouse: Path, release_id: str, fingerprint: str) -> bool:
    """The warehouse is the one built into `release_id` by code and settings of `fingerprint`."""
    state = data / STATE_FILE
    if not state.is_file() or not warehouse.is_file():
        return False
    try:
        recorded = json.loads(state.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return recorded == {"release_id": release_id, "fingerprint": fingerprint}
