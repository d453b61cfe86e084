"""Issue 8, honest numbers: nothing set aside silently, complete denominators, unknown is not
zero, re-based group files, real-format robustness, running without the network."""

from __future__ import annotations

import socket
import subprocess
import time
import zipfile

import polars as pl
import pytest
import requests

from pipelines.ingest import fetch as fetch_module
from pipelines.ingest.contracts import load_contracts
from pipelines.ingest.fetch import FetchError, FetchSettings, fetch, mirror_location
from pipelines.ingest.parse import parse_file
from pipelines.ingest.groups import GroupsFileError, materialise_groups
from pipelines.ingest.raw import populations_commune_code
from pipelines.warehouse.dbt_project import unusable_selection

from .conftest import GROUPS, MIRROR, PROJECT, latest, query, rewrite_csv_member

CONTRACTS = load_contracts()


# --- 6. real-format robustness --------------------------------------------------------------

def test_base_cc_member_with_upper_case_extension_is_read():
    contract = CONTRACTS["insee_emploi_pop_active"]
    for vintage in contract.vintages:
        path = mirror_location(str(MIRROR), vintage.url)
        with zipfile.ZipFile(path) as archive:
            assert any(n.endswith(".CSV") for n in archive.namelist())  # as INSEE names it
        frame = parse_file(contract, vintage, __import__("pathlib").Path(path))
        assert frame.height > 0 and frame["source_file"][0].endswith(".CSV")


@pytest.mark.parametrize("dep,number,code", [("01", "001", "01001"), ("2A", "004", "2A004"), ("971", "01", "97101"),
                                             ("971", "101", "97101"), ("97", "101", "97101"), ("974", "411", "97411")])
def test_populations_code_from_both_overseas_layouts(dep, number, code):
    assert populations_commune_code(dep, number) == code


def test_a_selection_lacking_a_required_source_names_it():
    needs = {"commuting_flows": {"insee_mobpro_flux", "insee_cog_communes", "insee_epci"},
             "territories": {"insee_cog_communes", "insee_epci"}}
    message = unusable_selection({"insee_mobpro_flux", "insee_cog_communes"}, needs)
    assert "insee_mobpro_flux feeds commuting_flows" in message and "insee_epci" in message
    assert unusable_selection({"insee_mobpro_flux", "insee_cog_communes", "insee_epci"}, needs) is None
    assert "territories, needs insee_epci" in unusable_selection({"insee_cog_communes"}, needs)


def test_flows_run_refuses_a_selection_lacking_a_required_source(mirror_url, tmp_path):
    from .conftest import run_flows

    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_SOURCES="insee_mobpro_flux")
    assert result.returncode == 2
    assert "FLOWS_SOURCES lacks required sources" in result.stderr and "insee_cog_communes" in result.stderr
    assert not (tmp_path / "out").exists()


# --- 5. group files re-based ----------------------------------------------------------------

def reference_raw(directory):
    """The raw COG tables of the fixture mirror, as the raw assets write them."""
    from pipelines.ingest.raw import materialise_source

    settings = FetchSettings(mirror=str(MIRROR), offline=True, cache_dir=directory / "cache", progress=False)
    for source_id in ("insee_cog_communes", "insee_cog_mouvements"):
        materialise_source(CONTRACTS[source_id], settings, directory)


def test_group_codes_unknown_to_every_vintage_stop_with_their_lines(tmp_path, monkeypatch):
    reference_raw(tmp_path)
    groups = tmp_path / "groups.csv"
    groups.write_text("group_id,group_name,commune_code\ng,G,01002\ng,G,1001\ng,G,93059\ng,G,2A999\n")
    with pytest.raises(GroupsFileError) as error:
        materialise_groups(str(groups), tmp_path)
    message = str(error.value)
    assert "2 code(s) unknown" in message and "93059 (line 4)" in message and "2A999 (line 5)" in message
    assert "01002" not in message and "1001" not in message  # merged since, and a padded code: known


def test_merged_code_in_the_groups_file_counts_for_its_successor(release):
    assert "01002" in GROUPS.read_text() and "01004" not in GROUPS.read_text()  # 01002 merged into 01004 in 2025
    current = latest(release)
    members = query(current / "territories.parquet", "select population from {t} where level = 'group' and code = 'lyon_bugey'")
    communes = query(current / "territories.parquet",
                     "select sum(population) from {t} where level = 'commune' and code in ('69123', '69029', '01004')")
    assert members == communes


# --- 7. running without the network ---------------------------------------------------------

def test_an_unresolvable_host_fails_at_once_and_is_not_asked_again(tmp_path, monkeypatch):
    calls = []

    def no_dns(host, *args, **kwargs):
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(fetch_module, "UNREACHABLE_HOSTS", {})
    settings = FetchSettings(cache_dir=tmp_path, attempts=4, backoff_seconds=1, progress=False)
    started = time.monotonic()
    for name in ("a.csv", "b.csv", "c.csv"):
        with pytest.raises(FetchError, match="name not resolved"):
            fetch(f"https://producer.example/{name}", "s", settings)
    assert time.monotonic() - started < 2  # no retry, no backoff
    assert len(calls) == 1  # the host is not asked again in the same run


def test_https_proxy_is_honoured(tmp_path, monkeypatch):
    """A proxy on 127.0.0.1 that refuses every tunnel: the CONNECT it receives proves requests
    went through HTTPS_PROXY (nothing leaves this machine)."""
    import http.server
    import threading

    seen = []

    class RefusingProxy(http.server.BaseHTTPRequestHandler):
        def do_CONNECT(self):
            seen.append(self.path)
            self.send_error(502)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusingProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(fetch_module, "UNREACHABLE_HOSTS", {})
    settings = FetchSettings(cache_dir=tmp_path, attempts=1, progress=False)
    with pytest.raises(FetchError):
        fetch("https://www.insee.fr/fr/statistiques/fichier/1/x.zip", "s", settings)
    server.shutdown()
    assert seen == ["www.insee.fr:443"]


def test_install_leaves_no_build_metadata_in_git():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True).stdout.split()
    assert not [p for p in tracked if ".egg-info" in p]
    ignored = subprocess.run(["git", "check-ignore", "-q", "territorial_flows.egg-info/PKG-INFO"], cwd=PROJECT)
    assert ignored.returncode == 0


def test_a_run_that_reaches_no_host_ends_with_one_line_per_source_and_a_hint(tmp_path):
    from .conftest import run_flows

    started = time.monotonic()
    result = run_flows("http://127.0.0.1:9/nothing-here", tmp_path / "data", tmp_path / "out")
    assert result.returncode == 1
    assert time.monotonic() - started < 60  # refused at once, not retried file after file
    lines = [l for l in result.stderr.splitlines() if l.startswith("error in raw__")]
    assert len(lines) == len(CONTRACTS) and all("could not fetch" in l for l in lines)
    assert "Stack Trace" not in result.stderr and "Traceback" not in result.stderr
    assert "FLOWS_MIRROR" in result.stderr and "HTTPS_PROXY" in result.stderr
    assert not (tmp_path / "out" / "latest.json").exists()


# --- 1. nothing set aside silently ----------------------------------------------------------

def test_every_run_prints_and_keeps_what_it_set_aside(release):
    manifest = __import__("json").loads((latest(release) / "manifest.json").read_text())
    by_vintage = {(e["source_id"], e["vintage"]): e for e in manifest["set_aside"]}
    flows_2019 = by_vintage[("insee_mobpro_flux", 2019)]
    assert flows_2019["rows_set_aside"] == 2 and flows_2019["rows_read"] > 200
    assert flows_2019["measure_unit"] == "workers" and flows_2019["measure_set_aside"] == pytest.approx(3.25)
    reasons = {r["reason"]: r for r in flows_2019["reasons"]}
    assert reasons["commune code unknown to COG 2026 in residence_code"]["examples"] == ["01999"]
    assert reasons["not a number in workers"]["examples"] == ["n.d."]
    assert by_vintage[("cerema_enaf", 2024)]["rows_set_aside"] == 0
    info = subprocess.run([str(PROJECT / ".venv" / "bin" / "flows"), "info", str(release)], capture_output=True, text=True)
    assert "insee_mobpro_flux 2019: 2 of" in info.stdout and "(e.g. n.d.)" in info.stdout


def test_the_rows_set_aside_are_published_with_the_communes_they_name(release):
    current = latest(release)
    manifest = __import__("json").loads((current / "manifest.json").read_text())
    counted = {(e["source_id"], e["vintage"]): e["rows_set_aside"] for e in manifest["set_aside"] if e["rows_set_aside"]}
    rows = query(current / "set_aside_rows.parquet", "select source_id, vintage, count(*) from {t} group by all")
    assert {(s, v): n for s, v, n in rows} == counted
    unknown_home = query(current / "set_aside_rows.parquet", """select commune_codes, measure, measure_unit from {t}
        where source_id = 'insee_mobpro_flux' and vintage = 2019 and quarantine_reason like 'commune code unknown%'""")
    assert unknown_home == [(["01004", "01999"], 3.25, "workers")]  # the unknown home and the workplace it names
    negative = query(current / "set_aside_rows.parquet", "select measure from {t} where quarantine_reason like 'negative%'")
    assert negative == [(-4.0,)]  # what the row claims, as written


def real_idf_mirror(tmp_path):
    """The fixture mirror whose 2022 census edition is replaced by the real Île-de-France RP 2014
    extract (flows of 100 or more, Paris by arrondissement), under the 2022 header."""
    import shutil

    from .conftest import REAL

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    flux = next(mirror.rglob("base-flux-mobilite-domicile-lieu-travail-2022_csv.zip"))
    real = (REAL / "mobpro" / "cartograflow_tab_IDF_mobpro.csv").read_text(encoding="utf-8")
    rewrite_csv_member(flux, lambda _: real.replace("NBFLUX_C14_", "NBFLUX_C22_"))
    return mirror


@pytest.mark.skipif(not (PROJECT.parent / "shared" / "data" / "real").is_dir(), reason="../shared/data/real is not present")
def test_real_idf_extract_with_the_fixture_reference_blocks_publication(release, tmp_path):
    import shutil

    from .conftest import run_flows

    out = tmp_path / "out"
    shutil.copytree(release, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    mirror = real_idf_mirror(tmp_path)
    result = run_flows(str(mirror), tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS))
    assert result.returncode == 1
    assert "publication blocked" in result.stderr and "FLOWS_MAX_QUARANTINE_SHARE" in result.stderr
    summary = [l for l in result.stderr.splitlines() if l.startswith("  insee_mobpro_flux 2022:")]
    assert len(summary) == 1 and "of 7,905 rows" in summary[0] and "commune code unknown to COG 2026" in summary[0]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing published, nothing damaged
    accepted = run_flows(str(mirror), tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS),
                         FLOWS_MAX_QUARANTINE_SHARE="100%", FLOWS_ROWCOUNT_TOLERANCE="1000")
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert "insee_mobpro_flux 2022:" in accepted.stdout


def test_max_quarantine_share_setting():
    from pipelines.settings import Settings, SettingsError

    def share(value: str) -> float:
        return Settings.from_env({"FLOWS_MAX_QUARANTINE_SHARE": value}).max_quarantine_share

    assert share("5%") == pytest.approx(0.05)
    assert share("0.2") == pytest.approx(0.2)
    assert share("") == pytest.approx(0.01)
    with pytest.raises(SettingsError, match="FLOWS_MAX_QUARANTINE_SHARE"):
        share("lots")


# --- 2. denominators from complete totals; 3. unknown is not zero ---------------------------

def published(release, table):
    return latest(release) / f"{table}.parquet"


def test_truncated_edition_takes_its_totals_from_the_census_key_figures(release):
    indicators = published(release, "territory_indicators")
    sources = dict(query(indicators, """select year, string_agg(distinct workers_totals_source, ',') from {t}
                                        where year between 2018 and 2022 group by year"""))
    assert sources == {2018: "insee_emploi_pop_active", 2019: "insee_mobpro_flux", 2020: "insee_mobpro_flux",
                       2021: "insee_mobpro_flux", 2022: "insee_mobpro_flux"}
    mismatches = query(indicators, """select level, code from {t} where year = 2018
        and (employed_residents_workers is distinct from census_employed_residents
             or jobs_filled_workers is distinct from census_jobs)""")
    assert mismatches == []  # 2018 (flows of 100 or more only): base-cc totals, at every level
    # 2021 is complete and has base-cc too: the sums of its flows are the census totals
    worst = query(indicators, """select max(abs(employed_residents_workers - census_employed_residents)),
                                        max(abs(jobs_filled_workers - census_jobs)) from {t} where year = 2021""")[0]
    assert worst[0] < 1e-3 and worst[1] < 1e-3
    assert query(indicators, "select count(internal_workers), count(self_containment_pct) from {t} where year = 2018") == [(0, 0)]
    assert query(indicators, "select count(*) from {t} where year = 2018 and job_concentration_pct is null "
                             "and level in ('commune', 'epci')") == [(0,)]


def test_no_share_is_divided_by_a_partial_total(release):
    pairs = published(release, "interdependencies")
    bad = query(pairs, """select level, year, code_a, code_b from {t}
        where (share_of_a_workers_employed_in_b_pct is not null
               and (workers_a_to_b_status not in ('complete', 'published') or workers_totals_source is null
                    or abs(share_of_a_workers_employed_in_b_pct - round(100 * workers_a_to_b / employed_residents_a_workers, 4)) > 1e-4))
           or (share_of_b_jobs_held_by_a_residents_pct is not null
               and abs(share_of_b_jobs_held_by_a_residents_pct - round(100 * workers_a_to_b / jobs_filled_b_workers, 4)) > 1e-4)""")
    assert bad == []
    assert query(pairs, "select max(share_of_a_workers_employed_in_b_pct) from {t}")[0][0] <= 100
    shared_2018 = query(pairs, """select count(share_of_a_workers_employed_in_b_pct) from {t}
                                  where year = 2018 and workers_a_to_b_status = 'published'""")[0][0]
    assert shared_2018 > 0  # exact flows of the truncated edition over base-cc totals
    assert query(pairs, """select count(share_of_a_workers_employed_in_b_pct) from {t}
                           where year = 2018 and workers_a_to_b_status = 'lower_bound'""") == [(0,)]


def test_a_direction_under_the_threshold_is_unknown_not_zero(release):
    flows = published(release, "commuting_flows")
    # In the 2018 fixture edition, Bocognano -> Bastia is under 100 while Bastia -> Bocognano is published.
    from tests.fixtures.make_fixtures import census_flows

    census = census_flows(2018, 2020)
    hidden = [(o, d) for (o, d), w in census.items() if w < 100 and census.get((d, o), 0) >= 100 and o != d
              and not o.startswith(("751", "6938")) and not d.startswith(("751", "6938")) and "01002" not in (o, d)
              and d != "MO001"]
    assert hidden
    for origin, destination in hidden:
        row = query(flows, f"""select workers, value_status, small_flow_caution, publication_threshold_workers from {{t}}
            where level = 'commune' and year = 2018 and origin_code = '{origin}' and destination_code = '{destination}'""")
        assert row == [(None, "below_publication_threshold", True, 100.0)], (origin, destination)
    pairs = published(release, "interdependencies")
    assert query(pairs, "select count(*) from {t} where year = 2018 and (workers_a_to_b = 0 or workers_b_to_a = 0)") == [(0,)]
    unknown = query(pairs, "select count(*) from {t} where year = 2018 and workers_a_to_b is null "
                           "and workers_a_to_b_status = 'below_publication_threshold' and net_workers_a_to_b is null")[0][0]
    assert unknown > 0
    ledger = published(release, "material_flows")
    assert query(ledger, """select count(*) from {t} where flow_kind = 'commuters' and year = 2018 and value is null
                            and value_status = 'below_publication_threshold'""")[0][0] == query(
        flows, "select count(*) from {t} where year = 2018 and workers is null")[0][0] > 0
    assert query(ledger, "select distinct value_status from {t} where year <> 2018 and flow_kind = 'commuters'") == [("complete",)]


def test_sums_over_a_truncated_edition_say_they_are_lower_bounds(release):
    flows = published(release, "commuting_flows")
    statuses = dict(query(flows, "select level, string_agg(distinct value_status, ',' order by value_status) from {t} "
                                 "where year = 2018 group by level"))
    assert statuses["epci"] == "below_publication_threshold,lower_bound" or statuses["epci"] == "lower_bound"
    assert "published" in statuses["commune"] and "lower_bound" in statuses["commune"]  # Paris, Lyon: arrondissements
    paris = query(flows, "select distinct value_status from {t} where year = 2018 and level = 'commune' "
                         "and origin_code = '75056' and workers is not null")
    assert paris == [("lower_bound",)]
    matrix = latest(release) / "urban_rural_matrix.parquet"
    assert query(matrix, "select distinct value_status from {t} where flow_kind = 'commuters' and year = 2018") == [("lower_bound",)]


def test_small_flows_carry_insee_reliability_caution(release):
    flows = published(release, "commuting_flows")
    wrong = query(flows, "select count(*) from {t} where small_flow_caution <> (workers is null or workers < 200)")
    assert wrong == [(0,)]
    assert query(flows, "select count(*) from {t} where small_flow_caution and workers is not null")[0][0] > 0


# --- 4. latest land and energy in the pair view ---------------------------------------------

def test_pair_view_gives_every_flow_kind_at_its_latest_year(release):
    current = latest(release)
    pair = query(current / "interdependencies_latest.parquet", """select commuters_year, workers_a_to_b, housing_land_year,
        housing_land_b_for_jobs_in_a_ha, electricity_year, electricity_from_b_surplus_to_a_mwh from {t}
        where level = 'epci' and code_a = '200046977' and code_b = '200040350'""")
    assert len(pair) == 1
    commuters_year, workers, land_year, land, energy_year, electricity = pair[0]
    assert (commuters_year, land_year, energy_year) == (2022, 2023, 2024)  # three sources, three years
    ledger = current / "material_flows.parquet"

    def ledger_value(kind, year, origin, destination):
        rows = query(ledger, f"""select value from {{t}} where flow_kind = '{kind}' and level = 'epci' and year = {year}
                                 and origin_code = '{origin}' and destination_code = '{destination}'""")
        return rows[0][0] if rows else 0.0

    assert workers == ledger_value("commuters", 2022, "200046977", "200040350")
    assert land == pytest.approx(ledger_value("housing_land_for_jobs", 2023, "200040350", "200046977"), abs=1e-6)
    assert electricity == pytest.approx(ledger_value("electricity_transfer", 2024, "200040350", "200046977"), abs=1e-6)
    assert electricity > 0  # the rural EPCI's surplus, which the census-year rows of interdependencies cannot show
    missing = query(current / "interdependencies.parquet", """select count(*) from (select distinct level, code_a, code_b from {t})
        where (level, code_a, code_b) not in (select (level, code_a, code_b) from '""" + str(current / "interdependencies_latest.parquet") + "')")
    assert missing == [(0,)]
    asymmetric = query(current / "interdependencies_latest.parquet", """select count(*) from {t} a left join {t} b
        on b.level = a.level and b.code_a = a.code_b and b.code_b = a.code_a
        where b.level is null or a.workers_a_to_b is distinct from b.workers_b_to_a
           or a.electricity_from_a_surplus_to_b_mwh is distinct from b.electricity_from_b_surplus_to_a_mwh""")
    assert asymmetric == [(0,)]


def test_group_codes_rebased_are_said(release):
    settings = __import__("json").loads((latest(release) / "manifest.json").read_text())["settings"]
    assert settings["group_codes_rebased"] == ["FLOWS_GROUPS line 4, group lyon_bugey: 01002 has merged since: counted as 01004"]
