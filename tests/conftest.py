"""Shared test helpers: a local HTTP server standing in for the producers' sites."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MIRROR = FIXTURES / "mirror"
PROJECT = Path(__file__).resolve().parents[1]
REAL = PROJECT.parent / "shared" / "data" / "real"


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
