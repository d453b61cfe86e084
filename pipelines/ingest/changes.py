"""Change detection for scheduled refreshes: has any file of a source changed since it was last
fetched?

The download cache remembers, for every location fetched, the sha256 and the ETag / Last-Modified
of the last response. A file on an http(s) mirror or producer site is asked with a HEAD request
and compared with those validators (then with its size); a file in a mirror directory is hashed.
A source never fetched counts as changed.
"""

from __future__ import annotations

from pathlib import Path

import requests

from .contracts import Contract
from ..files import file_sha256
from .fetch import Cache, FetchSettings, candidate_locations, redact


def file_changed(official_url: str, settings: FetchSettings, cache: Cache) -> bool:
    locations = candidate_locations(official_url, settings)
    if not locations:
        return False  # nothing can be fetched: nothing to refresh
    location = locations[0]
    entry = cache.entry(redact(location))
    if entry is None:
        return True
    if "://" not in location:
        path = Path(location)
        return not path.is_file() or file_sha256(path)[0] != entry["sha256"]
    try:
        response = requests.head(location, timeout=settings.timeout_seconds, allow_redirects=True)
    except requests.RequestException:
        return False  # unreachable now: the next evaluation asks again
    if response.status_code != 200:
        return False
    headers = response.headers
    if entry.get("etag") and headers.get("ETag"):
        return headers["ETag"] != entry["etag"]
    if entry.get("last_modified") and headers.get("Last-Modified"):
        return headers["Last-Modified"] != entry["last_modified"]
    size = headers.get("Content-Length")
    return size is None or int(size) != entry["size"]


def changed_sources(contracts: dict[str, Contract], source_ids: list[str], settings: FetchSettings) -> list[str]:
    """The sources with at least one vintage file changed since it was last fetched."""
    cache = Cache(settings.cache_dir)
    return sorted(s for s in source_ids if any(file_changed(v.url, settings, cache) for v in contracts[s].vintages))

