"""The Dagster job against the fixture mirror served on 127.0.0.1, and the release it publishes."""

from __future__ import annotations

import json

import duckdb
import pytest

from .conftest import latest, query, releases, run_flows

TABLES = ["commuting_flows", "interdependencies", "interdependencies_latest", "material_flows", "set_aside_rows",
          "territories", "territory_indicators", "urban_rural_matrix"]


def test_release_holds_the_tables_and_a_manifest(release):
    current = latest(release)
    expected = [f"{t}{suffix}" for t in TABLES for suffix in (".parquet", ".csv.zip", ".README.md")]
    expected += ["territories_geo.parquet", "territories_geo.README.md"]
    assert sorted(p.name for p in current.iterdir()) == sorted(expected + ["manifest.json", "datapackage.json",
                                                                           "DATA_DICTIONARY.md", "index.html"])
    assert (release / "site" / "duckdb" / "duckdb-eh.wasm").is_file()  # the release page's DuckDB-WASM, once
    home = (release / "index.html").read_text(encoding="utf-8")
    assert f'href="{current.relative_to(release).as_posix()}/index.html"' in home  # the latest release's page
    manifest = json.loads((current / "manifest.json").read_text())
    for table, entry in manifest["tables"].items():
        assert entry["rows"] == query(current / f"{table}.parquet", "select count(*) from {t}")[0][0] > 0
        assert entry["licence"] and entry["columns"]
    sources = {s["source_id"]: s for s in manifest["sources"]}
    assert len(sources) == 17 and all(v["sha256"] for s in sources.values() for v in s["vintages"])
    assert sources["insee_mobpro_flux"]["licence"].startswith("Licence Ouverte")
    from pipelines.ingest.contracts import load_contracts

    contracts = load_contracts()  # a table's licence is that of the sources it is built from
    for entry in manifest["tables"].values():
        assert entry["licence"] == "; ".join(sorted({contracts[s].licence for s in entry["sources"]}))
    assert manifest["quarantine"] == [
        {"source_id": "insee_mobpro_flux", "reason": "commune code unknown to COG 2026 in residence_code", "rows": 5},
        {"source_id": "insee_mobpro_flux", "reason": "negative value in workers", "rows": 1},
        {"source_id": "insee_mobpro_flux", "reason": "not a number in workers", "rows": 1},
    ]


def test_identical_runs_give_byte_identical_parquet(release):
    first, second = latest(release), latest(release.parent / "out2")
    for table in TABLES:
        for suffix in (".parquet", ".csv.zip"):
            assert (first / f"{table}{suffix}").read_bytes() == (second / f"{table}{suffix}").read_bytes()
    assert (first / "territories_geo.parquet").read_bytes() == (second / "territories_geo.parquet").read_bytes()


def test_communes_of_the_target_geography_only(release):
    # one row per territory and every target commune with its EPCI: dbt tests of territories
    territories = latest(release) / "territories.parquet"
    communes = {c for (c,) in query(territories, "select code from {t} where level = 'commune'")}
    assert len(communes) == 12 and "2A004" in communes and "2B033" in communes
    assert not any(c.startswith("751") or c.startswith("6938") for c in communes)


def test_merged_commune_flows_move_to_the_new_code(release):
    flows = latest(release) / "commuting_flows.parquet"
    codes = {c for (c,) in query(flows, "select origin_code from {t} union select destination_code from {t}")}
    assert "01002" not in codes and "01004" in codes
    assert "MO001" in codes  # the workplace abroad keeps its producer code
    assert query(flows, "select bool_and(destination_abroad) from {t} where destination_code = 'MO001'") == [(True,)]


def test_split_commune_gets_its_population_share(release):
    flows = latest(release) / "commuting_flows.parquet"
    # In 2021 (geography 2023) 01414 was still part of 01453: its flows are 380/1630 of the parent's.
    parent, child = query(flows, """
        select sum(workers) filter (where origin_code = '01453'), sum(workers) filter (where origin_code = '01414')
        from {t} where level = 'commune' and year = 2021""")[0]
    assert child == pytest.approx((parent + child) * 380 / 1630, rel=1e-6)
    flags = dict(query(flows, "select year, bool_and(split_allocated) from {t} where origin_code = '01414' group by year"))
    assert flags[2021] is True and flags[2022] is False  # 2022 is published in the 2024 geography, after the split


def test_indicators_cover_every_source(release):
    indicators = latest(release) / "territory_indicators.parquet"
    row = query(indicators, """
        select sum(census_jobs), sum(private_salaried_jobs), sum(land_take_total_ha),
               sum(electricity_consumption_residential_mwh), sum(electricity_production_solar_mwh),
               max(energy_secretised_cells), max(self_containment_pct)
        from {t} where level = 'region'""")[0]
    assert all(v is not None and v > 0 for v in row)
    no_internal = query(indicators, "select count(self_containment_pct) from {t} where year = 2018")
    assert no_internal == [(0,)]  # the 2018 edition has no internal flows: self-containment is unknown


def test_unfetchable_source_fails_clearly_and_keeps_the_last_release(release, tmp_path):
    before = {p.name: p.stat().st_mtime for p in release.rglob("*")}
    result = run_flows("http://127.0.0.1:9/nothing-here", tmp_path / "data", release)
    assert result.returncode != 0
    assert "could not fetch" in result.stderr and "127.0.0.1:9" in result.stderr
    assert "nothing was published" in result.stderr
    assert {p.name: p.stat().st_mtime for p in release.rglob("*")} == before


def test_restricted_sources_publish_only_the_tables_they_allow(mirror_url, tmp_path):
    reference = "insee_cog_communes,insee_cog_mouvements,insee_cog_departements,insee_cog_regions," \
                "insee_populations_legales,insee_epci,insee_grille_densite,insee_aav2020"
    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_SOURCES=reference + ",insee_mobpro_flux")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((latest(tmp_path / "out") / "manifest.json").read_text())
    assert sorted(manifest["tables"]) == ["commuting_flows", "territories"]
    levels = query(latest(tmp_path / "out") / "territories.parquet", "select distinct level from {t} order by level")
    assert levels == [("commune",), ("departement",), ("epci",), ("region",)]  # no group level without FLOWS_GROUPS


def test_contract_break_names_source_file_and_columns(tmp_path):
    import shutil

    from .conftest import MIRROR

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    regions = next(mirror.rglob("v_region_2026.csv"))
    regions.write_text(regions.read_text().replace("LIBELLE", "LIB_REGION"))
    result = run_flows(str(mirror), tmp_path / "data", tmp_path / "out")
    assert result.returncode != 0
    assert "source insee_cog_regions, file v_region_2026.csv: missing columns ['LIBELLE']" in result.stderr
    assert "LIB_REGION" in result.stderr
    assert not (tmp_path / "out" / "latest.json").exists()


def test_target_geography_is_configurable(mirror_url, tmp_path):
    sources = "insee_cog_communes,insee_cog_mouvements,insee_cog_departements,insee_cog_regions," \
              "insee_populations_legales,insee_epci,insee_grille_densite,insee_aav2020"
    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_SOURCES=sources, FLOWS_TARGET_COG="2025")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((latest(tmp_path / "out") / "manifest.json").read_text())
    assert manifest["settings"]["target_cog"] == 2025 and sorted(manifest["tables"]) == ["territories"]
    wrong = run_flows(mirror_url, tmp_path / "data", tmp_path / "out2", FLOWS_TARGET_COG="2031")
    assert wrong.returncode != 0 and "FLOWS_TARGET_COG=2031" in wrong.stderr


def test_quarantined_rows_point_at_file_and_row(mirror_url, release):
    # The warehouse of the module's run is kept beside the release: find the one written first.
    warehouse = release.parent / "data1" / "warehouse.duckdb"
    rows = duckdb.connect(str(warehouse), read_only=True).sql(
        "select source_file, source_row, quarantine_reason from quarantine where vintage = 2019 order by source_row").fetchall()
    assert rows == [
        ("base-csv-flux-mobilite-domicile-lieu-travail-2019.zip!base-flux-mobilite-domicile-lieu-travail-2019.csv",
         228, "commune code unknown to COG 2026 in residence_code: 01999"),
        ("base-csv-flux-mobilite-domicile-lieu-travail-2019.zip!base-flux-mobilite-domicile-lieu-travail-2019.csv",
         229, "not a number in workers: n.d."),
    ]



def test_datapackage_documents_every_column(release):
    current = latest(release)
    package = json.loads((current / "datapackage.json").read_text())
    assert package["profile"] == "data-package" and package["version"] == current.name
    parquet = {r["name"]: r for r in package["resources"] if r["format"] == "parquet"}
    assert sorted(parquet) == sorted(TABLES + ["territories_geo"])
    for name, resource in parquet.items():
        fields = resource["schema"]["fields"]
        undocumented = [f["name"] for f in fields if not f["description"]]
        assert undocumented == [], (name, undocumented)
        assert [f["name"] for f in fields] == [c for (c,) in query(current / resource["path"], "select column_name from (describe select * from {t})")]
        assert resource["hash"] == "sha256:" + __import__("hashlib").sha256((current / resource["path"]).read_bytes()).hexdigest()
        assert set(resource["schema"]["primaryKey"]) <= {f["name"] for f in fields}
    dictionary = (current / "DATA_DICTIONARY.md").read_text()
    assert "| `share_of_b_jobs_held_by_a_residents_pct` | DOUBLE | 100 x workers_a_to_b / jobs_filled_b_workers (null as above). |" in dictionary
    card = (current / "commuting_flows.README.md").read_text()
    assert "under 200" in card and "How to cite" in card and f"release {current.name}" in card
    assert "URSSAF" not in card  # the citation names only the producers the table comes from



def test_territories_geo_is_geoparquet_1_1_in_wgs84(release):
    import geopandas
    import pyarrow.parquet as pq

    current = latest(release)
    path = current / "territories_geo.parquet"
    geo = json.loads(pq.read_schema(path).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    frame = geopandas.read_parquet(path)
    assert frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()
    territories = {(lvl, code) for lvl, code in query(current / "territories.parquet", "select level, code from {t}")}
    assert set(zip(frame.level, frame.code)) == territories  # every territory, groups included
    epci = frame[(frame.level == "epci") & (frame.code == "200046977")].geometry.iloc[0]
    lyon, bron = (frame[(frame.level == "commune") & (frame.code == c)].geometry.iloc[0] for c in ("69123", "69029"))
    assert epci.area == pytest.approx(lyon.area + bron.area, rel=0.02)  # the métropole is its communes dissolved



def test_a_refresh_where_nothing_changed_publishes_nothing(mirror_url, release):
    from .conftest import GROUPS

    before = releases(release)
    warehouse = release.parent / "data1" / "warehouse.duckdb"
    built = warehouse.stat().st_mtime_ns
    result = run_flows(mirror_url, release.parent / "data1", release, FLOWS_GROUPS=str(GROUPS),
                       FLOWS_CACHE=str(release.parent / "data1-cache"))  # the download cache of the run that built it
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing changed: no new release" in result.stdout and "nothing fetched or rebuilt" in result.stdout
    assert releases(release) == before
    assert warehouse.stat().st_mtime_ns == built  # nothing rebuilt
    assert not list((release / "releases").glob(".tmp-*"))


KILL_DURING_PUBLICATION = """
import os, signal, sys
if os.path.basename(sys.argv[0]) == "flows":  # not in the dbt child
    import pipelines.publish.release as release

    def killed(*args, **kwargs):  # the first table's Parquet is written, its CSV copy never is
        os.kill(os.getpid(), signal.SIGKILL)

    release.write_csv_zip = killed
"""


def test_sigkill_during_publication_keeps_the_last_release_and_rerun_converges(mirror_url, release, tmp_path):
    import shutil

    from .conftest import GROUPS

    out = tmp_path / "out"
    shutil.copytree(release, out)  # a published directory with one good release
    good = latest(out)
    fault = tmp_path / "fault"  # Python imports sitecustomize from PYTHONPATH at start-up
    fault.mkdir()
    (fault / "sitecustomize.py").write_text(KILL_DURING_PUBLICATION)
    killed = run_flows(mirror_url, tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS), FLOWS_SOURCES="",
                       FLOWS_TARGET_COG="2026", FLOWS_KEEP_RELEASES="", PYTHONPATH=str(fault))
    assert killed.returncode != 0
    assert list((out / "releases").glob(".tmp-*"))  # the run died with its release half-written
    assert latest(out) == good and json.loads((good / "manifest.json").read_text())["tables"]
    again = run_flows(mirror_url, tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS))
    assert again.returncode == 0, again.stderr[-3000:]
    assert not list((out / "releases").glob(".tmp-*"))
    assert latest(out) == good  # same inputs: the rerun converges on the same release


def test_a_second_run_on_a_busy_warehouse_refuses_clearly(mirror_url, tmp_path):
    import fcntl

    data = tmp_path / "data"
    data.mkdir()
    with open(data / "flows.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress
        held.write("pid 12345 since 2026-11-23 05:00:00")
        held.flush()
        result = run_flows(mirror_url, data, tmp_path / "out", FLOWS_LOCK_WAIT="1")
    assert result.returncode == 3
    assert "another run holds the warehouse" in result.stderr and "pid 12345" in result.stderr
    assert not (tmp_path / "out").exists()


def test_row_count_drift_beyond_tolerance_blocks_publication(mirror_url, release, tmp_path):
    import shutil
    import zipfile

    from .conftest import GROUPS, MIRROR

    out = tmp_path / "out"
    shutil.copytree(release, out)
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    flux = next(mirror.rglob("base-flux-mobilite-domicile-lieu-travail-2022_csv.zip"))
    with zipfile.ZipFile(flux) as archive:
        (name,) = archive.namelist()
        lines = archive.read(name).decode().splitlines(keepends=True)
    with zipfile.ZipFile(flux, "w") as archive:  # one more flow: one more row in the 2022 tables
        archive.writestr(name, "".join(lines) + "01001;L'Abergement-Clémenciat;MO001;Monaco;7.5\r\n")
    result = run_flows(str(mirror), tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS), FLOWS_ROWCOUNT_TOLERANCE="0")
    assert result.returncode != 0
    assert "commuting_flows_row_counts_vs_latest_release" in result.stderr + result.stdout
    assert latest(out) == out / "releases" / latest(release).name  # nothing new was published


def test_a_run_knows_when_the_latest_release_is_what_it_would_build(mirror_url, release):
    """The check behind a nothing-changed run that fetches and rebuilds nothing: the same code and
    settings (build fingerprint) and every source file verified to be the one published."""
    import copy

    from pipelines.ingest.changes import already_published
    from pipelines.ingest.contracts import load_contracts
    from pipelines.settings import Settings

    from .conftest import GROUPS

    settings = Settings.from_env({"FLOWS_MIRROR": mirror_url, "FLOWS_OFFLINE": "1", "FLOWS_GROUPS": str(GROUPS),
                                  "FLOWS_CACHE": str(release.parent / "data1-cache")})
    contracts = load_contracts()
    manifest = json.loads((latest(release) / "manifest.json").read_text())
    assert already_published(manifest, contracts, sorted(contracts), settings)
    other_geography = settings.model_copy(update={"target_cog": 2025})
    assert not already_published(manifest, contracts, sorted(contracts), other_geography)
    changed_file = copy.deepcopy(manifest)
    changed_file["sources"][0]["vintages"][0]["sha256"] = "0" * 64
    assert not already_published(changed_file, contracts, sorted(contracts), settings)
    assert not already_published(manifest, contracts, sorted(contracts)[1:], settings)  # another selection
    unreachable = Settings.from_env({"FLOWS_MIRROR": "http://127.0.0.1:9/nothing-here", "FLOWS_OFFLINE": "1",
                                     "FLOWS_GROUPS": str(GROUPS), "FLOWS_CACHE": str(release.parent / "data1-cache")})
    assert not already_published(manifest, contracts, sorted(contracts), unreachable)


def test_a_changed_source_rebuilds_what_depends_on_it_and_carries_the_rest(tmp_path):
    """One source file changes: only what depends on it is rebuilt, the tables that do not depend on
    it are carried into the new release without being rewritten (the same file, hard-linked), and
    the release is the one a run from scratch builds."""
    import shutil

    from .conftest import GROUPS, MIRROR

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    out, data = tmp_path / "out", tmp_path / "data"
    first = run_flows(str(mirror), data, out, FLOWS_GROUPS=str(GROUPS))
    assert first.returncode == 0, first.stderr[-3000:]
    previous = latest(out)
    urssaf = next(mirror.rglob("etablissements-et-effectifs-salaries-au-niveau-commune-x-ape-last/exports/csv"))
    urssaf.write_text(urssaf.read_text(encoding="utf-8").replace(";33;2405;", ";33;2406;", 1), encoding="utf-8")

    second = run_flows(str(mirror), data, out, FLOWS_GROUPS=str(GROUPS))
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"changed since release {previous.name}: urssaf_effectifs_commune; only the" in second.stdout
    current = latest(out)
    assert current != previous
    manifest = json.loads((current / "manifest.json").read_text())
    independent = sorted(t for t, m in manifest["tables"].items() if "urssaf_effectifs_commune" not in m["sources"])
    assert independent == ["commuting_flows", "territories", "territories_geo"]
    for table, entry in manifest["tables"].items():
        carried = (current / entry["file"]).stat().st_ino == (previous / entry["file"]).stat().st_ino
        assert carried == (table in independent), table
    assert (current / "territory_indicators.parquet").read_bytes() != (previous / "territory_indicators.parquet").read_bytes()

    scratch = run_flows(str(mirror), tmp_path / "data2", tmp_path / "out2", FLOWS_GROUPS=str(GROUPS))
    assert scratch.returncode == 0, scratch.stderr[-3000:]
    rebuilt = latest(tmp_path / "out2")
    assert sorted(p.name for p in rebuilt.iterdir()) == sorted(p.name for p in current.iterdir())
    for path in current.iterdir():  # the same bytes; the text files name their release
        if path.suffix in (".parquet", ".zip"):
            assert path.read_bytes() == (rebuilt / path.name).read_bytes(), path.name
        elif path.name != "manifest.json":
            assert path.read_text().replace(current.name, rebuilt.name) == (rebuilt / path.name).read_text(), path.name
    assert without_run_times(manifest) == without_run_times(json.loads((rebuilt / "manifest.json").read_text()))


def without_run_times(manifest: dict) -> dict:
    """A manifest without what differs between two runs that build the same release."""
    manifest = {k: v for k, v in manifest.items() if k not in ("release_id", "created_at")}
    manifest["sources"] = [{**s, "vintages": [{k: v for k, v in vintage.items() if k != "retrieved_at"}
                                              for vintage in s["vintages"]]} for s in manifest["sources"]]
    return manifest
