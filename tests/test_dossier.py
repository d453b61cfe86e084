"""`flows dossier`: the French page of a pair of territories or of a contract's perimeter, checked
figure by figure against the release it was written from, and opened in a real browser."""

from __future__ import annotations

import html
import html.parser
import subprocess

import duckdb
import pytest

from .conftest import FIXTURES, FLOWS, latest, query

LYON, BUGEY = "200046977", "200040350"
PERIMETER = FIXTURES / "groups" / "perimetre_lyon_amberieu.csv"  # Lyon, Bron, Ambérieu-en-Bugey


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
                     "share_of_b_workers_employed_in_a_pct", "employed_residents_a_workers", "employed_residents_b_workers"):
            shown, text = page.figures[(name, values["year"])]
            if values[name] is None:
                assert shown is None and "inconnu" in text  # a null is printed as unknown, never 0
            else:
                assert shown == pytest.approx(values[name], abs=1e-9)
    assert page.figures[("share_of_a_workers_employed_in_b_pct", 2018)][0] is None  # truncated edition
    assert page.figures[("distance_km", None)][0] == pytest.approx(values["distance_km"])
    populations = dict(duckdb.sql(f"select code, population from '{current / 'territories.parquet'}' "
                                  f"where level = 'epci' and code in ('{LYON}', '{BUGEY}')").fetchall())
    assert page.figures[("population_a", None)][0] == populations[LYON]
    assert page.figures[("population_b", None)][0] == populations[BUGEY]
    for (name, year), (shown, words) in page.figures.items():  # every figure: a number, or unknown, never a blank
        assert ("inconnu" in words) == (shown is None), (name, year, words)
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
    assert book.sheetnames == ["Territoires", "Dernière année", "Navetteurs", "Foncier", "Électricité", "Terres agricoles",
                               "Salaires", "Sources"]
    rows = list(book["Navetteurs"].iter_rows(values_only=True))
    assert rows[0][1] == "Actifs de Métropole de Lyon travaillant à CC Bugey Sud"
    current = latest(release)
    expected = duckdb.sql(f"""select year, round(workers_a_to_b, 1), round(share_of_a_workers_employed_in_b_pct, 2)
        from '{current / 'interdependencies.parquet'}' where level = 'epci' and code_a = '{LYON}' and code_b = '{BUGEY}'
        order by year""").fetchall()
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(y, w, "inconnu" if s is None else s) for y, w, s in expected]
    sources = list(book["Sources"].iter_rows(values_only=True))
    assert sources[0] == ("Publication", current.name, None, None, None)
    assert all(r[3] for r in sources[2:]) and len(sources) - 2 == 17


def test_the_dossier_maps_both_territories_and_their_largest_links(release, tmp_path):
    import re

    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", LYON, BUGEY, "--release", str(release), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.count("<svg ") == 6 and "km</text>" in text and "N ↑" in text  # the map and five charts
    assert sorted(re.findall(r'data-code="([^"]+)"', text)) == ["01414", "01453", "69029", "69123"]  # the EPCI's communes
    links = re.findall(r'data-link="([^"]+)-([^"]+)" data-workers="([^"]+)"', text)
    assert 0 < len(links) <= 10
    current = latest(release)
    for origin, destination, workers in links:
        expected = duckdb.sql(f"""select workers from '{current / 'commuting_flows.parquet'}' where level = 'commune'
            and year = 2022 and origin_code = '{origin}' and destination_code = '{destination}'""").fetchone()[0]
        assert float(workers) == pytest.approx(expected)
    assert [float(w) for *_, w in links] == sorted((float(w) for *_, w in links), reverse=True)  # the largest first


def write(tmp_path, *args) -> "Figures":
    out = tmp_path / "dossier.html"
    result = subprocess.run([FLOWS, "dossier", *args, "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return read_dossier(out), html.unescape(out.read_text(encoding="utf-8"))


def test_every_flow_kind_has_its_series_net_balance_chart_and_sentence(release, tmp_path):
    page, text = write(tmp_path, LYON, BUGEY, "--release", str(release))
    current = latest(release)
    ledger = query(current / "material_flows.parquet", f"""select flow_kind, year, origin_code, value from {{t}}
        where level = 'epci' and origin_code in ('{LYON}', '{BUGEY}') and destination_code in ('{LYON}', '{BUGEY}')
          and origin_code <> destination_code""")
    values = {(k, y, o): v for k, y, o, v in ledger}
    years = {k: [y for (y,) in query(current / "material_flows.parquet", f"select distinct year from {{t}} where level = 'epci' "
                                     f"and flow_kind = '{k}' order by year")] for k in ("housing_land_for_jobs", "electricity_transfer", "food_land",
                                                               "wage_income")}
    assert len(years["housing_land_for_jobs"]) == 15 and len(years["electricity_transfer"]) == 4 and years["food_land"] == [2010]
    assert years["wage_income"] == [2021, 2022]
    for kind, (ab, ba) in {"housing_land_for_jobs": ("housing_land_a_for_jobs_in_b_ha", "housing_land_b_for_jobs_in_a_ha"),
                           "electricity_transfer": ("electricity_from_a_surplus_to_b_mwh", "electricity_from_b_surplus_to_a_mwh"),
                           "food_land": ("food_land_from_a_surplus_to_b_ha", "food_land_from_b_surplus_to_a_ha"),
                           "wage_income": ("wages_paid_in_a_to_b_residents_eur", "wages_paid_in_b_to_a_residents_eur")}.items():
        for year in years[kind]:
            a_to_b, b_to_a = values.get((kind, year, LYON), 0.0), values.get((kind, year, BUGEY), 0.0)  # no row: a true 0
            assert page.figures[(ab, year)][0] == pytest.approx(a_to_b, abs=1e-9)
            assert page.figures[(ba, year)][0] == pytest.approx(b_to_a, abs=1e-9)
            assert page.figures[(f"{kind}_net_a_to_b", year)][0] == pytest.approx(a_to_b - b_to_a, abs=1e-9)
    assert page.figures[("commuters_net_a_to_b", 2022)][0] == pytest.approx(
        page.figures[("workers_a_to_b", 2022)][0] - page.figures[("workers_b_to_a", 2022)][0])
    assert text.count("<svg") == 6  # the map and one chart per flow kind, inline
    assert "En 2024, le modèle attribue 0 MWh du surplus d'électricité de Métropole de Lyon" in text
    assert "32\u202f802 MWh dans l'autre sens" in text
    assert "En 2022, 1\u202f986 actifs résidant à Métropole de Lyon travaillent à CC Bugey Sud" in text
    assert text.count("Précautions.") == 5 and "Convention comptable, pas un flux physique" in text
    assert "Au recensement agricole de 2010, le modèle attribue" in text and "pas un flux de denrées" in text
    assert "En 2022, le modèle estime à " in text and "les salaires nets versés par les emplois de Métropole de Lyon" in text
    assert "pas une masse salariale observée" in text


def test_a_contract_perimeter_against_its_surroundings(release, tmp_path):
    page, text = write(tmp_path, "--group", str(PERIMETER), "--surroundings", "region", "--release", str(release))
    current = latest(release)
    inside, around = ("69123", "69029", "01004"), ("01001", "01414", "01453")  # the rest of région 84's communes
    codes = lambda side: ", ".join(f"'{c}'" for c in side)
    flows = dict(((y, d), (v, n, s)) for y, d, v, n, s in query(current / "commuting_flows.parquet", f"""
        select year, origin_code in ({codes(inside)}), sum(workers), count(workers), bool_and(value_status = 'complete')
        from {{t}} where level = 'commune' and ((origin_code in ({codes(inside)}) and destination_code in ({codes(around)}))
          or (origin_code in ({codes(around)}) and destination_code in ({codes(inside)}))) group by all"""))
    employed = dict(query(current / "territory_indicators.parquet", f"""select year, sum(employed_residents_workers)
        from {{t}} where level = 'commune' and code in ({codes(inside)}) group by all"""))
    for (year, a_to_b), (total, known, complete) in flows.items():
        name = "workers_a_to_b" if a_to_b else "workers_b_to_a"
        shown, words = page.figures[(name, year)]
        assert shown == pytest.approx(total, abs=1e-6)
        assert ("minorant" in words) == (not complete)  # a sum over a truncated edition is a lower bound
        if a_to_b:
            assert page.figures[("employed_residents_a_workers", year)][0] == pytest.approx(employed[year])
            share = page.figures[("share_of_a_workers_employed_in_b_pct", year)][0]
            assert share == (pytest.approx(100 * total / employed[year], abs=1e-4) if complete else None)
    land = query(current / "material_flows.parquet", f"""select sum(value) from {{t}} where flow_kind = 'housing_land_for_jobs'
        and level = 'commune' and year = 2023 and origin_code in ({codes(around)}) and destination_code in ({codes(inside)})""")
    assert page.figures[("housing_land_b_for_jobs_in_a_ha", None)][0] == pytest.approx(land[0][0], abs=1e-9)
    assert "Lyon et Ambérieu" in text and "Reste de la région Auvergne-Rhône-Alpes (84)" in text
    # the perimeter's caveat on summed transfers: electricity and food land, not wages (which add up)
    assert text.count("sommes des transferts modélisés entre communes") == 2
    wages = query(current / "material_flows.parquet", f"""select sum(value) from {{t}} where flow_kind = 'wage_income'
        and level = 'commune' and year = 2022 and origin_code in ({codes(inside)}) and destination_code in ({codes(around)})""")
    assert page.figures[("wages_paid_in_a_to_b_residents_eur", None)][0] == pytest.approx(wages[0][0], abs=1e-6)
    touching = query(current / "set_aside_rows.parquet", "select count(*) from {t} where list_contains(commune_codes, '01004')")
    assert text.count("data-set-aside=") == touching[0][0] == 5  # the rows set aside that name Ambérieu


def test_a_perimeter_with_a_code_of_a_past_geography_is_named(release, tmp_path):
    from .conftest import GROUPS

    result = subprocess.run([FLOWS, "dossier", "--group", str(GROUPS), "lyon_bugey", "--release", str(release),
                             "--out", str(tmp_path / "d.html")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "01002 (line 4) not communes of release" in result.stderr
    result = subprocess.run([FLOWS, "dossier", "--group", str(GROUPS), "--release", str(release),
                             "--out", str(tmp_path / "d.html")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "holds groups lyon_bugey, bugey_rural: name one" in result.stderr


def test_a_batch_writes_one_dossier_per_pair_and_an_index(release, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"code_a,code_b,level\n{LYON},{BUGEY},\n01453,01004,commune\n99999,{BUGEY},\n", encoding="utf-8")
    out = tmp_path / "dossiers"
    result = subprocess.run([FLOWS, "dossiers", str(pairs), "--out", str(out), "--release", str(release), "--xlsx"],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 1  # one pair could not be written: said, the others are
    assert f"line 4 (99999, {BUGEY}): no territory '99999'" in result.stderr and "2 dossiers written" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "dossier_01453_01004.html", "dossier_01453_01004.xlsx", f"dossier_{LYON}_{BUGEY}.html",
        f"dossier_{LYON}_{BUGEY}.xlsx", "index.html"]
    index = html.unescape((out / "index.html").read_text(encoding="utf-8"))
    assert f'href="dossier_{LYON}_{BUGEY}.html"' in index and 'href="dossier_01453_01004.xlsx"' in index
    assert "Métropole de Lyon (200046977)" in index
    assert "Dossier non établi (ligne 4 du fichier des paires) : aucun territoire de code 99999 dans la publication" in index
    assert f'data-release="{latest(release).name}"' in index
    single = read_dossier(out / "dossier_01453_01004.html")
    assert single.release == latest(release).name and single.figures[("workers_a_to_b", None)][0] is not None
