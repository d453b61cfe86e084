"""`flows serve`: byte ranges, and every published table read over HTTP by DuckDB and polars."""

from __future__ import annotations

import urllib.request

import polars as pl
import pytest

from pipelines.commands.remote import duckdb_with_httpfs
from .conftest import latest, releases


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


def test_flows_info_lists_tables_rows_columns_and_licence(release):
    import subprocess

    from .conftest import FLOWS

    result = subprocess.run([FLOWS, "info", str(release)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"release {latest(release).name}" in result.stdout
    assert "interdependencies: Interdependencies between pairs of territories" in result.stdout
    assert "licence: Licence Ouverte / Etalab 2.0" in result.stdout
    assert "columns: level, origin_code, destination_code, year, workers" in result.stdout
    missing = subprocess.run([FLOWS, "info", str(release / "nowhere")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "nothing published" in missing.stderr


def test_flows_serve_command_answers_ranges(release):
    import socket
    import subprocess
    import time

    from .conftest import FLOWS

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([FLOWS, "serve", str(release), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(50):
            try:
                status, _, body = fetch(f"http://127.0.0.1:{port}/latest.json", Range="bytes=0-0")
                break
            except OSError:
                time.sleep(0.1)
        assert (status, body) == (206, b"{")
    finally:
        server.terminate()
        server.wait(timeout=10)
