"""Fault injection: a server on 127.0.0.1 misbehaves on purpose for one producer file; each fault
has a stated outcome, and a published directory's last release is never damaged."""

from __future__ import annotations

import functools
import io
import json
import shutil
import time
import zipfile

import pytest

from .conftest import GROUPS, MIRROR, QuietHandler, latest, releases, run_flows, serve

TARGET = "base-flux-mobilite-domicile-lieu-travail-2022_csv.zip"
MEMBER = "base-flux-mobilite-domicile-lieu-travail-2022.csv"


def original() -> bytes:
    return next(MIRROR.rglob(TARGET)).read_bytes()


def rezip(text: str | bytes, name: str = MEMBER) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return out.getvalue()


def csv_text() -> str:
    with zipfile.ZipFile(io.BytesIO(original())) as archive:
        return archive.read(MEMBER).decode("utf-8")


def edit_rows(change) -> bytes:
    lines = csv_text().splitlines()
    return rezip("\r\n".join([lines[0]] + [change(line) for line in lines[1:]]) + "\r\n")


# fault: (what the server sends for the target file on successive requests, expected outcome)
FAULTS = {
    "503_then_200": (lambda n: (503, b"busy") if n == 0 else (200, original()), "published"),
    "timeout_then_200": (lambda n: ("sleep", original()) if n == 0 else (200, original()), "published"),
    "short_body": (lambda n: ("short", original()), "error: bytes read, 1000 more expected)"),
    "corrupt_zip": (lambda n: (200, original()[:200] + b"\x00" * 300), "error: not a valid zip"),
    "zip_entry_escaping": (lambda n: (200, rezip(csv_text(), "../../" + MEMBER)), "error: outside its target"),
    "zip_bomb": (lambda n: (200, rezip(b"0" * 30_000_000)), "error: over the limit"),
    "renamed_column": (lambda n: (200, rezip(csv_text().replace("NBFLUX_C22_ACTOCC15P", "NB_FLUX_C22"))),
                       "error: missing columns ['NBFLUX_C22_ACTOCC15P']"),
    "latin1_for_utf8": (lambda n: (200, rezip(csv_text().encode("latin-1"))), "error: is not valid utf-8"),
    # every row of the vintage is quarantined, so the completeness check blocks the release
    "decimal_commas": (lambda n: (200, edit_rows(lambda l: l.replace(".", ","))), "blocked: every_census_year_is_published"),
    "negative_counts": (lambda n: (200, edit_rows(lambda l: l.replace(";12.5", ";-12.5"))), "quarantined: negative value in workers"),
    # a commune's every flow set aside: more than 1 % of the vintage, publication is blocked
    "unknown_codes": (lambda n: (200, edit_rows(lambda l: l.replace("2B033;", "2B999;", 1))),
                      "blocked: set_aside_within_limit: publication blocked: 1 source vintage(s)"),
}


class Faulty(QuietHandler):
    fault = None
    requests = 0

    def do_GET(self):
        if not self.path.endswith(TARGET) or type(self).fault is None:
            return super().do_GET()
        status, body = type(self).fault(type(self).requests)
        type(self).requests += 1
        if status == "sleep":
            time.sleep(3)
            status = 200
        length = len(body) + 1000 if status == "short" else len(body)
        self.send_response(200 if status == "short" else status)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        return super().do_HEAD()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault(fault, release, tmp_path):
    behaviour, outcome = FAULTS[fault]
    handler = type("Handler", (Faulty,), {"fault": staticmethod(behaviour), "requests": 0})
    server, url = serve(functools.partial(handler, directory=str(MIRROR)))
    out = tmp_path / "out"
    shutil.copytree(release, out)
    before = {p.relative_to(out): p.read_bytes() for p in (out / "releases").rglob("*") if p.is_file()}
    good = latest(out)
    try:
        result = run_flows(url, tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS), FLOWS_HTTP_TIMEOUT="1",
                           FLOWS_MAX_UNCOMPRESSED_BYTES="10000000")
    finally:
        server.shutdown()
    after = {p.relative_to(out): p.read_bytes() for p in (out / "releases").rglob("*") if p.is_file()}
    assert {k: v for k, v in after.items() if k in before} == before  # the last release is untouched
    kind, _, detail = outcome.partition(": ")
    if kind == "published":  # retried and succeeded: same data as the last release, nothing new
        assert result.returncode == 0, result.stderr[-2000:]
        assert handler.requests == 2 and latest(out) == good
    elif kind == "error":
        assert result.returncode != 0 and latest(out) == good
        assert "insee_mobpro_flux" in result.stderr and detail in result.stderr, result.stderr[-2000:]
    elif kind == "blocked":  # a failed blocking check stops publication
        assert result.returncode != 0 and latest(out) == good
        assert detail in result.stdout + result.stderr
    else:  # quarantined rows: a new release whose manifest counts them
        assert result.returncode == 0, result.stderr[-2000:]
        new = latest(out)
        assert new != good and len(releases(out)) == len(releases(release)) + 1
        quarantine = json.loads((new / "manifest.json").read_text())["quarantine"]
        counted = {q["reason"]: q["rows"] for q in quarantine if q["source_id"] == "insee_mobpro_flux"}
        assert any(reason.startswith(detail) and rows > 0 for reason, rows in counted.items()), counted
