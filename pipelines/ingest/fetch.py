"""Download producers' files: mirror chain, content-hash cache, conditional GET, retries.

`FLOWS_MIRROR` (a directory or an http(s) base URL) holds copies laid out as
`<mirror>/<host>/<path of the official URL>` and is tried first; then the official URL, unless
`FLOWS_OFFLINE=1`. Every file lands in the cache under its sha256; an index remembers the
ETag / Last-Modified of each URL so that the next request is conditional.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import urllib3
from tqdm import tqdm

from ..files import CHUNK, file_sha256
from .archives import DEFAULT_MAX_UNCOMPRESSED

if TYPE_CHECKING:
    from ..settings import Settings


LOG = logging.getLogger(__name__)
class FetchError(RuntimeError):
    """A source could not be downloaded from any of the URLs tried."""


class _Retryable(Exception):
    pass


class HostUnreachable(FetchError):
    """The host cannot be resolved or connected to: no retry, and no other file asked of it."""


# Hosts found unreachable in this process: a run without the network fails in seconds per host,
# not in minutes of retries per file.
UNREACHABLE_HOSTS: dict[str, str] = {}


@dataclass
class FetchResult:
    url: str  # the URL (or mirror path) the bytes came from
    official_url: str
    path: Path  # cached copy, named by content hash
    sha256: str
    size: int
    from_cache: bool = False


@dataclass
class FetchSettings:
    mirror: str | None = None
    offline: bool = False
    cache_dir: Path = Path(".flows_cache")
    attempts: int = 4
    backoff_seconds: float = 0.5
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    progress: bool = True
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchSettings:
        return cls(mirror=settings.mirror, offline=settings.offline, cache_dir=settings.cache_path,
                   progress=settings.progress, timeout_seconds=settings.http_timeout_seconds,
                   connect_timeout_seconds=settings.connect_timeout_seconds,
                   max_uncompressed_bytes=settings.max_uncompressed_bytes)


SECRET_PARAMETERS = re.compile(r"(token|key|secret|password|passwd|signature|sig|credential|auth)", re.IGNORECASE)


def redact(location: str) -> str:
    """A URL safe to log or store: no user:password@, and secret-looking query values masked."""
    parts = urlsplit(location)
    if not parts.scheme:
        return location
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = urlencode([(k, "***" if SECRET_PARAMETERS.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrub(text: str, location: str) -> str:
    """Remove from a message any secret that `location` carries (password, secret query values)."""
    parts = urlsplit(location)
    secrets = [parts.password, parts.username if parts.password else None]
    secrets += [v for k, v in parse_qsl(parts.query) if SECRET_PARAMETERS.search(k)]
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text


def mirror_location(mirror: str, official_url: str) -> str:
    parts = urlsplit(official_url)
    relative = f"{parts.netloc}{parts.path}"
    if "://" in mirror:
        return f"{mirror.rstrip('/')}/{relative}"
    return str(Path(mirror) / relative)


def candidate_locations(official_url: str, settings: FetchSettings) -> list[str]:
    locations = []
    if settings.mirror:
        locations.append(mirror_location(settings.mirror, official_url))
    if not settings.offline:
        locations.append(official_url)
    return locations


class Cache:
    """Blobs by sha256 plus, per URL, the validators of the last successful response: in index.json,
    and again one small file per URL in entries/, from which a corrupt index is rebuilt."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.blobs = directory / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.entries = directory / "entries"
        self.index_path = directory / "index.json"

    def _index(self) -> dict:
        """URL -> entry. A corrupt index (a crash mid-write on a full disk, a hand edit) is set aside
        as index.json.corrupt and rebuilt from entries/ (the URLs whose blob is still there)."""
        if not self.index_path.exists():
            return {}
        try:
            index = json.loads(self.index_path.read_text(encoding="utf-8"))
            if not isinstance(index, dict):
                raise ValueError("not a JSON object")
            return index
        except (ValueError, UnicodeDecodeError) as exc:
            os.replace(self.index_path, self.index_path.with_suffix(".json.corrupt"))
            index = self._rebuilt_index()
            self._write_json(index, self.index_path)
            LOG.warning(f"download cache index {self.index_path} was corrupt ({exc}): set aside as index.json.corrupt "
                        f"and rebuilt with the {len(index)} file(s) whose record and blob are intact")
            return index

    def _rebuilt_index(self) -> dict:
        index = {}
        for path in sorted(self.entries.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                if (self.blobs / record["entry"]["sha256"]).exists():
                    index[record["url"]] = record["entry"]
            except (ValueError, KeyError, TypeError):
                continue  # a damaged record: that file will be fetched again in full
        return index

    @staticmethod
    def _write_json(payload: dict, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two processes never share a temporary file
        tmp.write_text(json.dumps(payload, indent=1, sort_keys=True))
        os.replace(tmp, path)

    def entry(self, url: str) -> dict | None:
        """The index entry of `url` if its blob is there with the bytes it was stored with: a blob
        that was cut, altered or lost is dropped, and the file is fetched again in full."""
        entry = self._index().get(url)
        if not entry:
            return None
        blob = self.blobs / entry["sha256"]
        if blob.exists() and file_sha256(blob) == (entry["sha256"], entry["size"]):
            return entry
        blob.unlink(missing_ok=True)
        return None

    def store(self, url: str, temp_path: Path, validators: dict) -> tuple[str, int, Path]:
        digest, size = file_sha256(temp_path)
        target = self.blobs / digest
        os.replace(temp_path, target)  # even over a blob of that name: it may have been altered since
        entry = {"sha256": digest, "size": size, **validators}
        self.entries.mkdir(exist_ok=True)
        self._write_json({"url": url, "entry": entry}, self.entries / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json")
        index = self._index()
        index[url] = entry
        self._write_json(index, self.index_path)
        return digest, size, target


def fetch(official_url: str, source_id: str, settings: FetchSettings) -> FetchResult:
    """Get one file, trying the mirror then the official URL; raise FetchError naming all tried."""
    cache = Cache(settings.cache_dir)
    locations = candidate_locations(official_url, settings)
    if not locations:
        raise FetchError(f"source {source_id}: no location to try (FLOWS_OFFLINE=1 and no FLOWS_MIRROR)")
    errors: list[str] = []
    for location in locations:
        try:
            if "://" in location:
                result = _fetch_http(location, official_url, cache, settings)
            else:
                result = _fetch_local(location, official_url, cache)
        except (FetchError, OSError, requests.RequestException) as exc:
            errors.append(scrub(f"{redact(location)}: {exc}", location))
            continue
        return result
    raise FetchError(f"source {source_id}: could not fetch {redact(official_url)}; tried " + "; ".join(errors))


def _fetch_local(path: str, official_url: str, cache: Cache) -> FetchResult:
    source = Path(path)
    if not source.is_file():
        raise FetchError("not found in the mirror directory")
    with open(source, "rb") as original, tempfile.NamedTemporaryFile(dir=cache.directory, delete=False) as tmp:
        shutil.copyfileobj(original, tmp, CHUNK)
    digest, size, blob = cache.store(path, Path(tmp.name), {})
    return FetchResult(path, official_url, blob, digest, size)


def _fetch_http(url: str, official_url: str, cache: Cache, settings: FetchSettings) -> FetchResult:
    host = urlsplit(url).netloc
    if host in UNREACHABLE_HOSTS:
        raise HostUnreachable(f"not tried: {UNREACHABLE_HOSTS[host]} earlier in this run")
    last_error = "no attempt made"
    for attempt in range(settings.attempts):
        if attempt:
            time.sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        try:
            return _http_attempt(url, official_url, cache, settings)
        except _Retryable as exc:
            last_error = str(exc)
    raise FetchError(f"gave up after {settings.attempts} attempts: {last_error}")


def _http_attempt(url: str, official_url: str, cache: Cache, settings: FetchSettings) -> FetchResult:
    key = redact(url)  # cache key and reported location: never a credential
    cached = cache.entry(key)
    headers = {"User-Agent": "territorial-flows (open data warehouse)"}
    if cached and cached.get("etag"):
        headers["If-None-Match"] = cached["etag"]
    if cached and cached.get("last_modified"):
        headers["If-Modified-Since"] = cached["last_modified"]
    timeout = (min(settings.connect_timeout_seconds, settings.timeout_seconds), settings.timeout_seconds)
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except (requests.Timeout, requests.ConnectionError) as exc:
        unreachable = unreachable_reason(exc, settings)
        if unreachable:
            host = urlsplit(url).netloc
            UNREACHABLE_HOSTS[host] = f"{redact(url).split('/')[2]} {unreachable}"
            raise HostUnreachable(f"{unreachable} (not retried)") from exc
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    with response:
        if response.status_code == 304 and cached:
            blob = cache.blobs / cached["sha256"]
            return FetchResult(key, official_url, blob, cached["sha256"], cached["size"], from_cache=True)
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code} (not retried)")
        temp_path = _stream_to_temp(response, cache.directory, settings)
    validators = {
        "etag": response.headers.get("ETag"),
        "last_modified": response.headers.get("Last-Modified"),
    }
    digest, size, blob = cache.store(key, temp_path, validators)
    return FetchResult(key, official_url, blob, digest, size)


def unreachable_reason(exc: requests.RequestException, settings: FetchSettings) -> str | None:
    """'name not resolved' or 'no connection within N s' when the host itself is out of reach
    (no network, a firewall, a wrong name); None for faults worth retrying (a reset, a read timeout)."""
    text = repr(exc)
    if isinstance(exc, requests.exceptions.ProxyError):
        return None
    if "NameResolutionError" in text or "Name or service not known" in text or "getaddrinfo failed" in text \
            or "Temporary failure in name resolution" in text or "No address associated" in text:
        return "name not resolved (DNS)"
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection refused"
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {settings.connect_timeout_seconds:g} s"
    return None


def _stream_to_temp(response: requests.Response, directory: Path, settings: FetchSettings) -> Path:
    expected = response.headers.get("Content-Length")
    expected_size = int(expected) if expected and expected.isdigit() else None
    received = 0
    tmp = tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".part")
    name = urlsplit(response.url).path.rsplit("/", 1)[-1] or "download"
    bar = tqdm(total=expected_size, unit="B", unit_scale=True, desc=name, disable=not settings.progress, leave=False)
    try:
        with tmp, bar:
            for chunk in response.raw.stream(CHUNK, decode_content=True):
                tmp.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
        Path(tmp.name).unlink(missing_ok=True)
        raise _Retryable(f"body interrupted after {received} bytes: {type(exc).__name__}: {exc}") from exc
    on_the_wire = response.raw.tell()  # Content-Length counts encoded bytes
    if expected_size is not None and on_the_wire != expected_size:
        Path(tmp.name).unlink(missing_ok=True)
        raise _Retryable(f"body has {on_the_wire} bytes, Content-Length announced {expected_size}")
    return Path(tmp.name)
