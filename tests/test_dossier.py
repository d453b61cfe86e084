"""`flows dossier A B`: the French page of a pair of territories, checked figure by figure against
the release it was written from (first increment of issue 10: no map, no charts, no browser yet)."""

from __future__ import annotations

import html.parser
import subprocess

import duckdb
import pytest

from .conftest import FLOWS, latest

LYON, BUGEY = "200046977", "200040350"


class Figures(html.parser.HTMLParser):
    """Every element with data-figure: (name, year or None) -> (raw value or None, text shown)."""

    def __init__(self):
        super().__init__()
        self.figures, self.open, self.release = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-figure" in attrs:
            key = (attrs["data-figure"], int(attrs["data-year"]) if attrs.get("data-year") else None)
            self.open = key
            self.figures[key] = [float(attrs["data-value"]) if attrs["data-value"] else None, ""]
        if "data-release" in attrs:
            self.release = attrs["data-release"]

    def handle_endtag(self, tag):
        if tag == "td":
            self.open = None

    def handle_data(self, data):
        if self.open:
            self.figures[self.open][1] += data


def read_dossier(path):
    parser = Figures()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_every_figure_of_the_dossier_is_the_releases(release, tmp_path):
    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", LYON, BUGEY, "--release", str(release), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    page = read_dossier(out)
    current = latest(release)
    pair = duckdb.sql(f"select * from '{current / 'interdependencies_latest.parquet'}' "
                      f"where level = 'epci' and code_a = '{LYON}' and code_b = '{BUGEY}'").df().iloc[0]
    for name in ("workers_a_to_b", "workers_b_to_a", "housing_land_a_for_jobs_in_b_ha", "housing_land_b_for_jobs_in_a_ha",
                 "electricity_from_a_surplus_to_b_mwh", "electricity_from_b_surplus_to_a_mwh"):
        assert page.figures[(name, None)][0] == pytest.approx(pair[name], abs=1e-9), name
    years = duckdb.sql(f"select * from '{current / 'interdependencies.parquet'}' "
                       f"where level = 'epci' and code_a = '{LYON}' and code_b = '{BUGEY}' order by year").fetchall()
    columns = [c for (c,) in duckdb.sql(f"select column_name from (describe select * from '{current / 'interdependencies.parquet'}')").fetchall()]
    assert len(years) == 5
    for row in years:
        values = dict(zip(columns, row))
        for name in ("workers_a_to_b", "workers_b_to_a", "share_of_a_workers_employed_in_b_pct",
                     "share_of_b_workers_employed_in_a_pct"):
            shown, text = page.figures[(name, values["year"])]
            if values[name] is None:
                assert shown is None and "inconnu" in text  # a null is printed as unknown, never 0
            else:
                assert shown == pytest.approx(values[name], abs=1e-9)
    assert page.figures[("share_of_a_workers_employed_in_b_pct", 2018)][0] is None  # truncated edition
    text = out.read_text(encoding="utf-8")
    assert page.release == current.name and "Licence Ouverte / Etalab 2.0" in text
    assert "Métropole de Lyon" in text and "CC Bugey Sud" in text and 'lang="fr"' in text
    assert "http://" not in text and "https://" not in text and "<script" not in text  # nothing fetched to open it


def test_the_dossier_reads_a_release_over_http(served, release, tmp_path):
    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", "01453", "01004", "--release", served, "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    page = read_dossier(out)
    assert page.release == latest(release).name and page.figures


def test_an_unknown_territory_is_named(release, tmp_path):
    result = subprocess.run([FLOWS, "dossier", "99999", BUGEY, "--release", str(release), "--out", str(tmp_path / "d.html")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "no territory '99999'" in result.stderr


def test_the_workbook_holds_the_same_figures_rounded(release, tmp_path):
    import openpyxl

    workbook = tmp_path / "dossier.xlsx"
    result = subprocess.run([FLOWS, "dossier", LYON, BUGEY, "--release", str(release), "--out", str(tmp_path / "d.html"),
                             "--xlsx", str(workbook)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(workbook)
    assert book.sheetnames == ["Territoires", "Dernière année", "Navetteurs", "Sources"]
    rows = list(book["Navetteurs"].iter_rows(values_only=True))
    assert rows[0][1] == "Actifs de Métropole de Lyon travaillant à CC Bugey Sud"
    current = latest(release)
    expected = duckdb.sql(f"""select year, round(workers_a_to_b, 1), round(share_of_a_workers_employed_in_b_pct, 2)
        from '{current / 'interdependencies.parquet'}' where level = 'epci' and code_a = '{LYON}' and code_b = '{BUGEY}'
        order by year""").fetchall()
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(y, w, "inconnu" if s is None else s) for y, w, s in expected]
    sources = list(book["Sources"].iter_rows(values_only=True))
    assert sources[0] == ("Publication", current.name, None, None, None)
    assert all(r[3] for r in sources[2:]) and len(sources) - 2 == 15


def test_the_dossier_maps_both_territories_and_their_largest_links(release, tmp_path):
    import re

    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", LYON, BUGEY, "--release", str(release), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count("<svg ") == 1 and "km</text>" in text and "N ↑" in text
    assert sorted(re.findall(r'data-code="([^"]+)"', text)) == ["01414", "01453", "69029", "69123"]  # the EPCI's communes
    links = re.findall(r'data-link="([^"]+)-([^"]+)" data-workers="([^"]+)"', text)
    assert 0 < len(links) <= 10
    current = latest(release)
    for origin, destination, workers in links:
        expected = duckdb.sql(f"""select workers from '{current / 'commuting_flows.parquet'}' where level = 'commune'
            and year = 2022 and origin_code = '{origin}' and destination_code = '{destination}'""").fetchone()[0]
        assert float(workers) == pytest.approx(expected)
    assert [float(w) for *_, w in links] == sorted((float(w) for *_, w in links), reverse=True)  # the largest first
