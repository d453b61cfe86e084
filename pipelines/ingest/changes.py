"""Change detection for scheduled refreshes: has any file of a source changed since it was last
fetched?

The download cache remembers, for every location fetched, the sha256 and the ETag / Last-Modified
of the last response. A file on an http(s) mirror or producer site is asked with a HEAD request
and compared with those validators (then with its size); a file in a mirror directory is hashed.
A source never fetched counts as changed.

A run can also be told that it has nothing to do: the latest release was built from the same
code and settings and from exactly the source files found now (already_published).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from .contracts import PROJECT_ROOT, Contract
from ..files import file_sha256
from .fetch import Cache, FetchSettings, candidate_locations, redact

if TYPE_CHECKING:
    from ..settings import Settings


def location_state(location: str, entry: dict | None, settings: FetchSettings) -> str:
    """`same`, `changed` or `unknown`: a file at `location` against its cache entry."""
    if entry is None:
        return "changed"
    if "://" not in location:
        path = Path(location)
        return "same" if path.is_file() and file_sha256(path)[0] == entry["sha256"] else "changed"
    try:
        response = requests.head(location, timeout=settings.timeout_seconds, allow_redirects=True)
    except requests.RequestException:
        return "unknown"
    if response.status_code != 200:
        return "unknown"
    headers = response.headers
    if entry.get("etag") and headers.get("ETag"):
        return "same" if headers["ETag"] == entry["etag"] else "changed"
    if entry.get("last_modified") and headers.get("Last-Modified"):
        return "same" if headers["Last-Modified"] == entry["last_modified"] else "changed"
    size = headers.get("Content-Length")
    return "same" if size is not None and int(size) == entry["size"] else "changed"


def first_location(official_url: str, settings: FetchSettings, cache: Cache) -> tuple[str, dict | None] | None:
    """Where a file is fetched from first, and the cache's entry for it; None when nowhere."""
    locations = candidate_locations(official_url, settings)
    return (locations[0], cache.entry(redact(locations[0]))) if locations else None


def file_changed(official_url: str, settings: FetchSettings, cache: Cache) -> bool:
    """Changed since it was last fetched; a location unreachable now counts as unchanged (the next
    evaluation asks again)."""
    found = first_location(official_url, settings, cache)
    if found is None:
        return False  # nothing can be fetched: nothing to refresh
    return location_state(*found, settings) == "changed"


def changed_sources(contracts: dict[str, Contract], source_ids: list[str], settings: FetchSettings) -> list[str]:
    """The sources with at least one vintage file changed since it was last fetched."""
    cache = Cache(settings.cache_dir)
    return sorted(s for s in source_ids if any(file_changed(v.url, settings, cache) for v in contracts[s].vintages))


FINGERPRINTED = ("sources/*.yml", "assets/*.yml", "dbt_project/*.yml", "dbt_project/models/**/*",
                 "dbt_project/macros/**/*", "dbt_project/tests/**/*", "dbt_project/seeds/**/*", "pipelines/**/*.py")


def build_fingerprint(settings: Settings) -> str:
    """What a run's output depends on besides the source files: the project's code and
    declarations (contracts, descriptors, dbt project, Python), the commune geography and sources
    asked for, the custom groups file and the model parameters. Recorded in each release's manifest."""
    digest = hashlib.sha256()
    files = {p for pattern in FINGERPRINTED for p in PROJECT_ROOT.glob(pattern) if p.is_file()}
    for path in sorted(files):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    groups = Path(settings.groups_file) if settings.groups_file else None
    asked = {"target_cog": settings.target_cog, "sources": sorted(settings.sources),
             "groups": file_sha256(groups)[0] if groups and groups.is_file() else None,
             "parameters": settings.model_parameters}
    digest.update(json.dumps(asked, sort_keys=True).encode())
    return digest.hexdigest()


def sources_changed_since(manifest: dict, contracts: dict[str, Contract], source_ids: list[str],
                          settings: Settings) -> list[str] | None:
    """The sources whose files are not verified to be those `manifest`'s release was built from (in
    the cache with that sha256, and the same at their location; a host that does not answer counts
    as a change). None when the release was built with other code or settings (build fingerprint)
    or from other sources: then everything is to be rebuilt."""
    if manifest.get("build", {}).get("fingerprint") != build_fingerprint(settings):
        return None
    published = {(s["source_id"], v["vintage"]): v["sha256"] for s in manifest["sources"] for v in s["vintages"]}
    if {s for s, _ in published} != set(source_ids):
        return None
    fetch_settings = FetchSettings.from_settings(settings)
    cache = Cache(fetch_settings.cache_dir)

    def same_file(source_id: str, vintage) -> bool:
        found = first_location(vintage.url, fetch_settings, cache)
        if found is None or found[1] is None or found[1]["sha256"] != published.get((source_id, vintage.vintage)):
            return False
        return location_state(*found, fetch_settings) == "same"

    return sorted(s for s in source_ids if not all(same_file(s, v) for v in contracts[s].vintages))


def already_published(manifest: dict, contracts: dict[str, Contract], source_ids: list[str], settings: Settings) -> bool:
    """True when a run would rebuild `manifest`'s release as it is: same code and settings, and
    every source file verified to be the one the release was built from."""
    return sources_changed_since(manifest, contracts, source_ids, settings) == []
