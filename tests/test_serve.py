"""`flows serve`: byte ranges, and every published table read over HTTP by DuckDB and polars."""

from __future__ import annotations

import threading
import urllib.request

import polars as pl
import pytest

from pipelines.remote import duckdb_with_httpfs
from pipelines.serve import make_server

from .conftest import latest, releases


@pytest.fixture(scope="module")
def served(release):
    server = make_server(release, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url, **headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request) as response:
        return response.status, dict(response.headers), response.read()


def test_byte_ranges(served, release):
    path = latest(release) / "territories.parquet"
    whole = path.read_bytes()
    relative = path.relative_to(release).as_posix()
    status, headers, body = fetch(f"{served}/{relative}", Range="bytes=0-3")
    assert (status, body) == (206, b"PAR1") and headers["Content-Range"] == f"bytes 0-3/{len(whole)}"
    status, _, body = fetch(f"{served}/{relative}", Range="bytes=-8")
    assert status == 206 and body == whole[-8:] and body.endswith(b"PAR1")
    status, headers, body = fetch(f"{served}/{relative}")
    assert status == 200 and body == whole and headers["Accept-Ranges"] == "bytes"
    with pytest.raises(urllib.error.HTTPError) as error:
        fetch(f"{served}/{relative}", Range=f"bytes={len(whole)}-")
    assert error.value.code == 416


@pytest.mark.filterwarnings("ignore:Extension type 'geoarrow.wkb'")  # polars reads the WKB geometry as binary
def test_every_table_reads_the_same_over_http(served, release):
    current = latest(release)
    con = duckdb_with_httpfs()
    tables = sorted(p.stem for p in current.glob("*.parquet"))
    assert len(tables) >= 6
    for table in tables:
        local = current / f"{table}.parquet"
        url = f"{served}/{local.relative_to(release).as_posix()}"
        assert con.sql(f"select * from '{url}'").fetchall() == con.sql(f"select * from '{local}'").fetchall()
        assert pl.read_parquet(url).equals(pl.read_parquet(local))


def test_latest_pointer_is_reachable(served, release):
    status, _, body = fetch(f"{served}/latest.json")
    assert status == 200 and latest(release).name in body.decode()
    assert releases(release)
