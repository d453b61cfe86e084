"""Fetch: mirror chain, cache, conditional requests, retries, archive guards."""

from __future__ import annotations

import http.server
import time
import zipfile

import pytest

from pipelines.ingest.archives import ArchiveError, open_member
from pipelines.ingest.fetch import FetchError, FetchSettings, fetch, mirror_location

from .conftest import MIRROR, serve

OFFICIAL = "https://www.insee.fr/fr/statistiques/fichier/8740222/v_region_2026.csv"


def settings(tmp_path, mirror, **kw):
    return FetchSettings(mirror=mirror, offline=True, cache_dir=tmp_path / "cache", progress=False,
                         backoff_seconds=0.01, timeout_seconds=2, **kw)


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each GET with the next scripted (status, body, headers[, delay]) and counts requests."""

    script: list = []
    requests: list = []

    def do_GET(self):
        type(self).requests.append(dict(self.headers))
        status, body, headers, *delay = type(self).script.pop(0) if type(self).script else (404, b"", {})
        time.sleep(delay[0] if delay else 0)
        self.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    class Handler(Scripted):
        script, requests = [], []

    server, url = serve(Handler)
    yield Handler, url
    server.shutdown()


def test_mirror_layout_is_host_then_path():
    assert mirror_location("/m", OFFICIAL) == "/m/www.insee.fr/fr/statistiques/fichier/8740222/v_region_2026.csv"
    assert mirror_location("http://h:1/x/", OFFICIAL).startswith("http://h:1/x/www.insee.fr/fr/")


def test_directory_mirror_fills_the_cache(tmp_path):
    result = fetch(OFFICIAL, "insee_cog_regions", settings(tmp_path, str(MIRROR)))
    assert result.path.read_bytes().startswith(b"REG,")
    assert result.path.name == result.sha256


def test_http_mirror_then_conditional_request(tmp_path, mirror_url):
    first = fetch(OFFICIAL, "insee_cog_regions", settings(tmp_path, mirror_url))
    second = fetch(OFFICIAL, "insee_cog_regions", settings(tmp_path, mirror_url))
    assert not first.from_cache and second.from_cache  # the server answered 304 Not Modified
    assert first.sha256 == second.sha256


def test_etag_is_sent_back(tmp_path, scripted):
    handler, url = scripted
    handler.script += [(200, b"a,b\n", {"ETag": '"v1"'}), (304, b"", {})]
    fetch(OFFICIAL, "s", settings(tmp_path, url))
    again = fetch(OFFICIAL, "s", settings(tmp_path, url))
    assert handler.requests[1].get("If-None-Match") == '"v1"' and again.from_cache


def test_503_is_retried_then_succeeds(tmp_path, scripted):
    handler, url = scripted
    handler.script += [(503, b"busy", {}), (503, b"busy", {}), (200, b"ok\n", {})]
    assert fetch(OFFICIAL, "s", settings(tmp_path, url)).path.read_bytes() == b"ok\n"
    assert len(handler.requests) == 3


def test_timeout_is_retried_then_succeeds(tmp_path, scripted):
    handler, url = scripted
    handler.script += [(200, b"late\n", {}, 3.0), (200, b"ok\n", {})]
    assert fetch(OFFICIAL, "s", settings(tmp_path, url)).path.read_bytes() == b"ok\n"  # timeout is 2 s
    assert len(handler.requests) == 2


def test_404_is_not_retried_and_the_error_names_source_and_urls(tmp_path, scripted):
    handler, url = scripted
    handler.script += [(404, b"", {})]
    with pytest.raises(FetchError) as error:
        fetch(OFFICIAL, "insee_cog_regions", settings(tmp_path, url))
    assert len(handler.requests) == 1
    assert "insee_cog_regions" in str(error.value) and "127.0.0.1" in str(error.value) and "404" in str(error.value)


def test_short_body_is_detected_and_retried(tmp_path, scripted):
    handler, url = scripted
    handler.script += [(200, b"trunc", {"Content-Length": "100"})] * 4
    with pytest.raises(FetchError, match="attempts"):
        fetch(OFFICIAL, "s", settings(tmp_path, url))
    assert len(handler.requests) == 4
    assert not list((tmp_path / "cache" / "blobs").iterdir())  # nothing half-written was cached


def test_offline_without_mirror_tries_nothing(tmp_path):
    with pytest.raises(FetchError, match="no location"):
        fetch(OFFICIAL, "s", settings(tmp_path, None))


def make_zip(tmp_path, members: dict[str, bytes]):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_zip_member_escaping_its_directory_is_refused(tmp_path):
    with pytest.raises(ArchiveError, match="outside"):
        open_member(make_zip(tmp_path, {"../../etc/evil.csv": b"x"}), "*.csv")


def test_zip_bomb_is_capped(tmp_path):
    with pytest.raises(ArchiveError, match="limit"):
        open_member(make_zip(tmp_path, {"big.csv": b"0" * 2_000_000}), "*.csv", max_bytes=1_000_000)


def test_corrupt_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.zip"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ArchiveError, match="not a valid zip"):
        open_member(path, "*.csv")


def test_member_pattern_picks_exactly_one(tmp_path):
    path = make_zip(tmp_path, {"data.csv": b"a\n1\n", "meta.xlsx": b""})
    assert open_member(path, "*.csv") == ("data.csv", b"a\n1\n")
    with pytest.raises(ArchiveError, match="expected one member"):
        open_member(make_zip(tmp_path, {"a.csv": b"", "b.csv": b""}), "*.csv")


def test_gzip_bomb_is_capped_and_corrupt_gzip_is_clear(tmp_path):
    import gzip

    from pipelines.ingest.archives import read_gzip

    bomb = tmp_path / "bomb.geojson.gz"
    bomb.write_bytes(gzip.compress(b" " * 3_000_000))
    with pytest.raises(ArchiveError, match="limit"):
        read_gzip(bomb, max_bytes=1_000_000)
    broken = tmp_path / "broken.geojson.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ArchiveError, match="not a valid gzip"):
        read_gzip(broken)


def test_credentials_in_a_mirror_url_never_reach_messages_or_the_cache(tmp_path, scripted):
    from pipelines.ingest.fetch import redact

    handler, url = scripted
    secret_mirror = url.replace("http://", "http://agency:s3cr3t-pass@") + "/base?token=t0k3n-value&v=2"
    assert redact(secret_mirror) == url + "/base?token=%2A%2A%2A&v=2"
    handler.script += [(200, b"ok\n", {"ETag": '"e"'})]
    result = fetch(OFFICIAL, "s", settings(tmp_path, url.replace("http://", "http://agency:s3cr3t-pass@")))
    index = (tmp_path / "cache" / "index.json").read_text()
    assert "s3cr3t-pass" not in index and "s3cr3t-pass" not in result.url
    handler.script += [(404, b"", {})]
    with pytest.raises(FetchError) as error:
        fetch(OFFICIAL + "?token=t0k3n-value", "s", settings(tmp_path, url.replace("http://", "http://agency:s3cr3t-pass@")))
    assert "s3cr3t-pass" not in str(error.value) and "t0k3n-value" not in str(error.value)


def test_every_official_url_is_https():
    from pipelines.ingest.contracts import load_contracts

    urls = [v.url for c in load_contracts().values() for v in c.vintages] + [c.landing_page for c in load_contracts().values()]
    assert urls and all(u.startswith("https://") for u in urls), [u for u in urls if not u.startswith("https://")]
