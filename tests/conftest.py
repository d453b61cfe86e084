"""Shared test helpers: a local HTTP server standing in for the producers' sites."""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MIRROR = FIXTURES / "mirror"
PROJECT = Path(__file__).resolve().parents[1]
REAL = PROJECT.parent / "shared" / "data" / "real"
GROUPS = FIXTURES / "groups" / "contrat_reciprocite.csv"
FLOWS = str(Path(sys.executable).parent / "flows")


@pytest.fixture(autouse=True)
def no_internet(monkeypatch, tmp_path):
    """Never fall back to the producers' real URLs; keep caches and outputs inside tmp_path."""
    monkeypatch.setenv("FLOWS_OFFLINE", "1")
    monkeypatch.setenv("FLOWS_PROGRESS", "0")
    monkeypatch.setenv("FLOWS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("FLOWS_MIRROR", raising=False)
    monkeypatch.delenv("FLOWS_SOURCES", raising=False)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(handler_class) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def mirror_url():
    """The fixture mirror served over HTTP on 127.0.0.1 (Last-Modified and 304 included)."""
    server, url = serve(functools.partial(QuietHandler, directory=str(MIRROR)))
    yield url
    server.shutdown()


def run_flows(mirror_url: str, data: Path, output: Path, **env) -> subprocess.CompletedProcess:
    """`flows run` in a subprocess (Dagster reads FLOWS_* when it loads the code location)."""
    environment = {**os.environ, "FLOWS_MIRROR": mirror_url, "FLOWS_DATA": str(data),
                   "FLOWS_OUTPUT": str(output), "FLOWS_OFFLINE": "1", "FLOWS_PROGRESS": "0", **env}
    environment.setdefault("FLOWS_CACHE", str(data.parent / f"{data.name}-cache"))  # never the project's own
    return subprocess.run([FLOWS, "run"], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def release(mirror_url, tmp_path_factory):
    """A run over the fixture mirror with the custom groups, published to e2e/out; a second
    identical run on a fresh warehouse publishes to e2e/out2 (to compare bytes)."""
    root = tmp_path_factory.mktemp("e2e")
    for data, out in (("data1", "out"), ("data2", "out2")):
        result = run_flows(mirror_url, root / data, root / out, FLOWS_GROUPS=str(GROUPS))
        assert result.returncode == 0, result.stderr[-3000:]
    return root / "out"


@pytest.fixture(scope="module")
def served(release):
    """The fixture release served by `flows serve`'s server on 127.0.0.1 (its base URL)."""
    from pipelines.commands.serve import make_server

    server = make_server(release, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def releases(out: Path) -> list[Path]:
    return sorted(p for p in (out / "releases").iterdir() if not p.name.startswith("."))


def latest(out: Path) -> Path:
    return out / json.loads((out / "latest.json").read_text())["path"]


def query(path: Path, sql: str):
    """Run `sql` with {t} standing for the Parquet file at `path`."""
    return duckdb.sql(sql.replace("{t}", f"'{path}'")).fetchall()


def rewrite_csv_member(archive_path: Path, change, target: Path | None = None) -> Path:
    """Write `archive_path`'s one CSV member back with its text passed through `change` (to
    `target`, or in place): a producer's zip altered the way a test needs."""
    import zipfile

    with zipfile.ZipFile(archive_path) as archive:
        (name,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        text = archive.read(name).decode("utf-8")
    target = target or archive_path
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(name, change(text))
    return target


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str:
    """The system's Chromium (FLOWS_CHROMIUM, or on the PATH); Playwright's own download cannot
    reach its servers from here, so the tests drive the system's browser."""
    import shutil

    found = os.environ.get("FLOWS_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not found:
        pytest.fail("no Chromium to open the pages in: install Debian's package (`apt-get install -y chromium`) "
                    "or set FLOWS_CHROMIUM to a Chromium binary", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser():
    """A headless system Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield chromium
        chromium.close()
