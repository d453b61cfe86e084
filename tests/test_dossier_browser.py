"""The dossier in a real browser (the system's Chromium through Playwright): it opens from file://
with no console error and no request, shows the map and every flow kind, and prints to A4 PDF in
at most 6 pages."""

from __future__ import annotations

import io
import subprocess

import pytest
from pypdf import PdfReader

from .conftest import FLOWS
from .test_dossier import BUGEY, LYON, PERIMETER

KINDS = ["commuters", "housing_land_for_jobs", "electricity_transfer", "food_land", "wage_income"]


@pytest.mark.parametrize("arguments", [[LYON, BUGEY], ["--group", str(PERIMETER), "--surroundings", "region"]],
                         ids=["two_epci", "perimeter"])
def test_the_dossier_opens_offline_and_prints_to_six_a4_pages_at_most(arguments, release, browser, tmp_path):
    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", *arguments, "--release", str(release), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    page = browser.new_page()
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(out.as_uri())
    assert page.locator("figure.carte svg path[data-code]").count() >= 4 and page.locator("figure.carte svg").is_visible()
    assert page.locator("figure.carte polyline[data-link]").count() > 0
    assert [s.get_attribute("data-kind") for s in page.locator("section.flux").all()] == KINDS
    for kind in KINDS:
        section = page.locator(f'section.flux[data-kind="{kind}"]')
        assert section.is_visible()
        if arguments[0] == "--group" and kind == "food_land":
            # the fixture's farmland moves between EPCIs only (a commune's surplus stays in its EPCI,
            # and no fixture EPCI has communes on both sides): no commune-level row to sum
            assert "La publication ne couvre pas ce flux à ce niveau." in section.inner_text()
        else:
            assert section.locator("figure.courbe svg").is_visible()
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
    width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
    assert width == pytest.approx(595.3, abs=1) and height == pytest.approx(841.9, abs=1)  # A4 in points
    assert 1 <= len(pdf.pages) <= 6
    assert "Sources et citation" in "".join(p.extract_text() for p in pdf.pages)
    assert problems == [] and requests == [out.as_uri()]  # nothing but the file itself
    page.close()
