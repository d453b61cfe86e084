"""Serve a published directory over HTTP with byte ranges, as any static host would.

DuckDB (httpfs), polars and GDAL read Parquet remotely with HEAD and `Range: bytes=a-b` requests:
they fetch the footer, then only the row groups their filter needs. Python's standard file server
ignores Range; this handler answers it with 206 Partial Content.
"""

from __future__ import annotations

import functools
import html
import http.server
import io
import os
import re
import socket
import urllib.parse
from pathlib import Path

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
DRAIN_LIMIT = 64 << 20  # the most read from a refused request before closing


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`); a request for
    several ranges gets the whole file (200), which HTTP allows. Only what is published is served:
    nothing outside the root (symlinks resolved), no hidden file or half-written `.tmp-*` release."""

    quiet = False  # True: log no request (FLOWS_SERVE_QUIET)

    # A request line that cannot be parsed still gets a status line and headers (no HTTP/0.9 reply).
    default_request_version = "HTTP/1.0"

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if not self.is_published(path):
            self.send_error(404, "File not found")
            return None
        header = self.headers.get("Range")
        if not header or not path.is_file() or "," in header:
            return super().send_head()
        size = path.stat().st_size
        match = RANGE.match(header.strip())
        if not match or match.groups() == ("", ""):
            self.send_error(416, "malformed byte range")
            return None
        first, last = match.groups()
        if first == "":  # the last n bytes
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        stream = open(path, "rb")
        stream.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", self.date_time_string(int(path.stat().st_mtime)))
        self.end_headers()
        self._remaining = end - start + 1
        return stream

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(1 << 16, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)
        self._remaining = None

    def is_published(self, path: Path) -> bool:
        root = Path(self.directory).resolve()
        try:
            relative = path.resolve().relative_to(root)
        except ValueError:
            return False  # outside the served directory, through a symlink or otherwise
        return not any(part.startswith(".") for part in Path(path).relative_to(self.directory).parts + relative.parts)

    def list_directory(self, path):
        """A plain listing of what is published: no hidden entry (`.tmp-*` releases being written)."""
        try:
            names = sorted(n for n in os.listdir(path) if not n.startswith("."))
        except OSError:
            self.send_error(404, "No permission to list directory")
            return None
        items = "".join(
            f'<li><a href="{urllib.parse.quote(n + ("/" if os.path.isdir(os.path.join(path, n)) else ""))}">'
            f"{html.escape(n)}</a></li>" for n in names)
        title = html.escape(urllib.parse.unquote(self.path))
        body = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><h1>{title}</h1><ul>{items}</ul></body></html>\n").encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_error(self, code, message=None, explain=None):
        self.drain_before_close = code in (400, 408, 413, 414, 431)  # the client may still be sending
        super().send_error(code, message, explain)

    def finish(self):
        """After refusing a request the client is still sending, read what it sends for a moment
        before closing: closing on unread bytes would reset the connection and lose the reply."""
        super().finish()
        if getattr(self, "drain_before_close", False):
            try:
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(2)
                received = 0
                while received < DRAIN_LIMIT and (chunk := self.connection.recv(1 << 16)):
                    received += len(chunk)
            except OSError:
                pass

    def end_headers(self):
        # A request that failed to parse (malformed line, oversized or too many headers) has no
        # headers: answer its 400/431 in full rather than fail on them.
        headers = getattr(self, "headers", None)
        if headers is None or not headers.get("Range"):
            self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def make_server(directory: Path, port: int, host: str = "127.0.0.1",
                handler_class: type[RangeRequestHandler] = RangeRequestHandler,
                quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A server of `directory`; `quiet` (FLOWS_SERVE_QUIET) logs no request."""
    handler = functools.partial(type(handler_class.__name__, (handler_class,), {"quiet": quiet}), directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)
