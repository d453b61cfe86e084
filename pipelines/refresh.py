"""Change detection for scheduled refreshes: ask each source whether its files changed.

For every vintage URL the first location of the fetch chain (mirror or official) is asked with a
HEAD request (for a mirror directory, the file's size and modification time); the ETag,
Last-Modified and Content-Length form a signature. A source whose signature differs from the one
recorded at the previous evaluation is changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import requests

from .contracts import Contract
from .fetch import FetchSettings, candidate_locations, redact


def signature(official_url: str, settings: FetchSettings) -> str:
    """What the producer (or mirror) says about the file now, without downloading it."""
    locations = candidate_locations(official_url, settings)
    if not locations:
        return "unreachable: no location"
    location = locations[0]
    if "://" not in location:
        path = Path(location)
        if not path.is_file():
            return "missing"
        stat = path.stat()
        return f"size={stat.st_size};mtime={stat.st_mtime_ns}"
    try:
        response = requests.head(location, timeout=settings.timeout_seconds, allow_redirects=True)
    except requests.RequestException as exc:
        return f"unreachable: {type(exc).__name__}"
    headers = response.headers
    return f"status={response.status_code};etag={headers.get('ETag')};modified={headers.get('Last-Modified')};" \
           f"size={headers.get('Content-Length')}"


def source_signatures(contracts: dict[str, Contract], source_ids: list[str], settings: FetchSettings | None = None) -> dict:
    settings = settings or FetchSettings.from_env()
    return {s: {redact(v.url): signature(v.url, settings) for v in contracts[s].vintages} for s in source_ids}


def changed_sources(previous_cursor: str | None, current: dict) -> list[str]:
    """Sources whose signature differs from the cursor's (all of them on the first evaluation)."""
    previous = json.loads(previous_cursor) if previous_cursor else {}
    return sorted(s for s, sig in current.items() if previous.get(s) != sig)


def sensor_interval_seconds() -> int:
    return int(os.environ.get("FLOWS_SENSOR_INTERVAL", str(6 * 3600)))
