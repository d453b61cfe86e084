"""Serve a published directory over HTTP with byte ranges, as any static host would.

DuckDB (httpfs), polars and GDAL read Parquet remotely with HEAD and `Range: bytes=a-b` requests:
they fetch the footer, then only the row groups their filter needs. Python's standard file server
ignores Range; this handler answers it with 206 Partial Content.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
from pathlib import Path

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class RangeRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single byte ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`)."""

    def send_head(self):
        path = Path(self.translate_path(self.path))
        header = self.headers.get("Range")
        if not header or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        match = RANGE.match(header.strip())
        if not match or match.groups() == ("", ""):
            self.send_error(416, "only single byte ranges are supported")
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

    def end_headers(self):
        if not self.headers.get("Range"):
            self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def log_message(self, format, *args):
        if os.environ.get("FLOWS_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def make_server(directory: Path, port: int, host: str = "127.0.0.1",
                handler_class: type[RangeRequestHandler] = RangeRequestHandler) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(handler_class, directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), handler)
