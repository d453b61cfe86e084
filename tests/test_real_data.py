"""Parsers, passage and the dbt staging/aggregation on the real extracts in ../shared/data/real.

Skipped when that directory is absent. The real Île-de-France commuting extract (RP 2014, flows
of 100 or more, Paris by arrondissement, COG 2016) is parsed with the census contract, re-based
to the 2026 reference with the real change tables, and run through the same dbt models as the
pipeline; its total of 2,318,072 workers must survive harmonisation and aggregation.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest.contracts import Vintage, load_contracts, year_variables
from pipelines.ingest.passage import Event, passage_table
from pipelines.ingest.parse import parse_file
from pipelines.ingest.raw import materialise_centroids

from .conftest import PROJECT, REAL

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is not present")

CONTRACTS = load_contracts()
IDF_TOTAL_WORKERS = 2_318_072
DECOUPAGE = REAL / "reference_cog_epci" / "decoupage-administratif-6.0.0_cog2026"


def load_json(name: str):
    return json.loads((DECOUPAGE / name).read_text(encoding="utf-8"))


def test_cog_2026_has_34969_communes_each_in_at_most_one_epci():
    communes = [c for c in load_json("communes.json") if c["type"] == "commune-actuelle"]
    assert len(communes) == 34_969
    codes = {c["code"] for c in communes}
    memberships = [m["code"] for e in load_json("epci.json") for m in e["membres"]]
    assert len(memberships) == len(set(memberships))
    assert set(memberships) <= codes
    assert len(codes - set(memberships)) == 98  # 94 communes of the COM and 4 islands


def idf_flows() -> pl.DataFrame:
    contract = CONTRACTS["insee_mobpro_flux"]
    template = contract.latest
    vintage = Vintage(vintage=2014, url="cartograflow_tab_IDF_mobpro.csv", geography=2016,
                      format=dataclasses.replace(template.format, packaging="plain"),
                      variables=year_variables(2014))
    return parse_file(contract, vintage, REAL / "mobpro" / "cartograflow_tab_IDF_mobpro.csv")


def test_idf_extract_parses_with_the_census_contract():
    flows = idf_flows()
    assert flows.height == 7_905
    assert flows["workers"].cast(pl.Float64).sum() == IDF_TOTAL_WORKERS
    assert flows["residence_code"].str.starts_with("751").any()  # Paris by arrondissement


def parse_day(text: str) -> date:
    if "/" in text:  # some rows of the table write 01/03/2018
        day, month, year = text.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


def real_events() -> list[Event]:
    """COGugaison's yearly passages up to 2024, then INSEE-derived changes of 2025 (ODIS)."""
    events = []
    with open(REAL / "cog_passage" / "cogugaison_passage_annuel_2008_2024.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["variant"] == "cogugaison":
                events.append(Event(parse_day(row["date_modif"]), row["cod_from"], row["cod_to"],
                                    float(row["ratio"]) if row["typemodif"] == "d" else None))
    cog2024 = set()
    with open(REAL / "cog_passage" / "cogugaison_cog_communes_2018_2024.csv", encoding="utf-8") as f:
        cog2024 = {r["CODGEO"] for r in csv.DictReader(f) if r["cog"] == "2024"}
    with open(REAL / "cog_passage" / "odis_geocodes_passage_annuel_2025.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f, delimiter=";"):
            old, new = row["Ancien Code Officiel"], row["Code Courant Officiel"]
            if row["Niveau"] == "COM" and old in cog2024 and old != new:
                events += [Event(date(2025, 1, 1), old, new), Event(date(2025, 1, 1), new, new)]
    return events


def raw_frame(source_id: str, rows: list[dict], vintage: int = 2026, geography: int = 2026) -> pl.DataFrame:
    """Raw rows as the raw assets write them: the contract's columns as text plus metadata."""
    columns = [c.name for c in CONTRACTS[source_id].columns]
    if any(c.per_year for c in CONTRACTS[source_id].columns):
        columns.append("year")
    frame = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows] or None,
                         schema={c: (pl.Int32 if c == "year" else pl.String) for c in columns}, orient="row")
    return frame.with_row_index("source_row", offset=2).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.lit(None, pl.Int64).alias("duplicate_of_row"),
        pl.lit(vintage, pl.Int32).alias("vintage"),
        pl.lit(geography, pl.Int32).alias("geography"), pl.lit(f"{source_id} (built from real extracts)").alias("source_file"))


@pytest.fixture(scope="module")
def real_warehouse(tmp_path_factory):
    """Raw Parquet from the real extracts, then `dbt build` of the flows and territories marts."""
    root = tmp_path_factory.mktemp("real")
    raw = root / "raw"
    raw.mkdir()
    communes = load_json("communes.json")
    current = [c for c in communes if c["type"] == "commune-actuelle"]
    tables = {
        "insee_cog_communes": raw_frame("insee_cog_communes", [
            {"commune_type": "COM", "commune_code": c["code"], "region_code": c.get("region"),
             "departement_code": c.get("departement"), "commune_name": c["nom"]} for c in current
        ] + [{"commune_type": "ARM", "commune_code": c["code"], "commune_name": c["nom"], "parent_code": c["commune"]}
             for c in communes if c["type"] == "arrondissement-municipal"]),
        "insee_cog_departements": raw_frame("insee_cog_departements", [
            {"departement_code": d["code"], "region_code": d["region"], "departement_name": d["nom"]}
            for d in load_json("departements.json")]),
        "insee_cog_regions": raw_frame("insee_cog_regions", [
            {"region_code": r["code"], "region_name": r["nom"]} for r in load_json("regions.json")]),
        "insee_epci": raw_frame("insee_epci", [
            {"commune_code": m["code"], "epci_code": e["code"], "epci_name": e["nom"]}
            for e in load_json("epci.json") for m in e["membres"]]),
        "insee_populations_legales": raw_frame("insee_populations_legales", [
            {"departement_code": c["departement"], "commune_number": c["code"][2:],
             "municipal_population": str(c.get("population", 0))} for c in current]),
        "insee_mobpro_flux": idf_flows(),
    }
    rings = {"75": "petite_couronne", "92": "petite_couronne", "93": "petite_couronne", "94": "petite_couronne",
             "77": "grande_couronne", "78": "grande_couronne", "91": "grande_couronne", "95": "grande_couronne"}
    tables["custom_groups"] = pl.DataFrame(
        [{"group_id": rings[c["departement"]], "group_name": rings[c["departement"]].replace("_", " ").title(),
          "commune_code": c["code"]} for c in current if c["departement"] in rings]
    ).with_row_index("source_row", offset=2).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.lit("idf_rings.csv").alias("source_file"))
    population = {c["code"]: float(c.get("population") or 0) for c in current}
    tables["commune_passage"] = passage_table(real_events(), [2016, 2026], 2026, population)
    for source_id in ("insee_emploi_pop_active", "urssaf_effectifs_commune", "cerema_enaf", "ore_conso_elec_gaz",
                      "agreste_recensement_agricole", "insee_salaires_commune",
                      "odre_registre_production", "insee_grille_densite", "insee_aav2020"):
        tables[source_id] = raw_frame(source_id, [])
    contours = CONTRACTS["etalab_contours_communes"]
    tables["etalab_contours_communes"] = parse_file(
        contours, contours.latest, REAL / "geometries" / "communes_france-geojson_cog2018_simplified.geojson.gz")
    for name, frame in tables.items():
        frame.write_parquet(raw / f"{name}.parquet")
    materialise_centroids(raw)
    warehouse = root / "warehouse.duckdb"
    env = {**os.environ, "FLOWS_RAW_DIR": str(raw), "FLOWS_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1"}
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "build", "--select", "+commuting_flows", "+territories", "+quarantine", "+interdependencies",
         "+material_flows", "+territory_indicators", "--indirect-selection", "cautious",
         "--vars", '{"target_cog": 2026}', "--target-path", str(root / "target"),
         "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:]
    return duckdb.connect(str(warehouse), read_only=True)


def test_idf_total_survives_harmonisation_and_aggregation(real_warehouse):
    totals = dict(real_warehouse.sql(
        "select level, round(sum(workers), 6) from commuting_flows group by level").fetchall())
    assert totals == {"commune": IDF_TOTAL_WORKERS, "epci": IDF_TOTAL_WORKERS, "group": IDF_TOTAL_WORKERS}
    assert real_warehouse.sql("select count(*) from quarantine where source_id = 'insee_mobpro_flux'").fetchone() == (0,)


def test_idf_flows_land_on_current_communes_only(real_warehouse):
    unknown = real_warehouse.sql("""
        select count(*) from commuting_flows f
        where level = 'commune' and (origin_code not in (select commune_code from stg_insee_cog_communes)
                                     or destination_code not in (select commune_code from stg_insee_cog_communes))""").fetchone()
    assert unknown == (0,)
    assert real_warehouse.sql(
        "select count(*) from commuting_flows where origin_code like '751%' and origin_code <> '75056'").fetchone() == (0,)


def test_real_territories_have_every_commune_once(real_warehouse):
    counts = dict(real_warehouse.sql("select level, count(*) from territories group by level").fetchall())
    assert counts["commune"] == 34_969 and counts["epci"] == 1_255
    duplicates = real_warehouse.sql("select count(*) from territories group by level, code having count(*) > 1")
    assert duplicates.fetchall() == []
    paris = real_warehouse.sql("select population from territories where level = 'commune' and code = '75056'")
    assert paris.fetchone()[0] > 2_000_000


def test_real_commune_boundaries_parse_with_the_geometry_contract():
    import shapely

    contract = CONTRACTS["etalab_contours_communes"]
    frame = parse_file(contract, contract.latest, REAL / "geometries" / "communes_france-geojson_cog2018_simplified.geojson.gz")
    assert frame.height == 35_357
    with open(REAL / "cog_passage" / "cogugaison_cog_communes_2018_2024.csv", encoding="utf-8") as f:
        cog2018 = {r["CODGEO"] for r in csv.DictReader(f) if r["cog"] == "2018"}
    assert set(frame["commune_code"].to_list()) == cog2018
    paris = frame.filter(pl.col("commune_code") == "75056")["geometry_wkb"][0]
    x, y = shapely.from_wkb(paris).centroid.coords[0]
    assert 2.2 < x < 2.5 and 48.8 < y < 48.95  # WGS84 longitude / latitude


def test_real_cerema_sample_parses_and_destinations_sum_to_the_total():
    contract = CONTRACTS["cerema_enaf"]
    vintage = dataclasses.replace(contract.latest, vintage=2023, years=tuple(range(2009, 2023)))
    frame = parse_file(contract, vintage, REAL / "conso_espaces_naf" / "cerema_conso2009_2023_resultats_com_sample_ain_9communes.csv")
    assert frame.height == 9 * 14 and frame["commune_code"][0] == "01001"
    uses = ["activity_m2", "housing_m2", "mixed_m2", "road_m2", "rail_m2", "unknown_m2"]
    sums = frame.select(pl.sum_horizontal([pl.col(u).cast(pl.Float64) for u in uses]) - pl.col("total_m2").cast(pl.Float64))
    assert sums.to_series().abs().max() == 0


def test_idf_rings_are_the_sums_of_their_members(real_warehouse):
    by_group = real_warehouse.sql("""
        select origin_code, destination_code, round(sum(workers), 6) from commuting_flows
        where level = 'group' group by all order by all""").fetchall()
    by_members = real_warehouse.sql("""
        select go.territory_code, gd.territory_code, round(sum(f.workers), 6)
        from commuting_flows f
        join int_territory_membership go on go.level = 'group' and go.commune_code = f.origin_code
        join int_territory_membership gd on gd.level = 'group' and gd.commune_code = f.destination_code
        where f.level = 'commune' group by all order by all""").fetchall()
    assert by_group == by_members and len(by_group) == 4  # every IDF commune is in one ring
    internal = dict(((o, d), w) for o, d, w in by_group)
    assert internal[("petite_couronne", "petite_couronne")] > internal[("grande_couronne", "petite_couronne")] > 0


def test_idf_pairs_mirror_and_outflows_match_employed_residents(real_warehouse):
    pair_rows = real_warehouse.sql("select count(*) from interdependencies where level = 'commune'").fetchone()[0]
    linked = real_warehouse.sql("""select count(distinct least(origin_code, destination_code) || greatest(origin_code, destination_code))
        from commuting_flows where level = 'commune' and origin_code <> destination_code""").fetchone()[0]
    assert pair_rows == 2 * linked > 5_000
    unmatched = real_warehouse.sql("""
        select count(*) from interdependencies a left join interdependencies b
          on b.level = a.level and b.year = a.year and b.code_a = a.code_b and b.code_b = a.code_a
        where b.code_a is null or a.workers_a_to_b <> b.workers_b_to_a""").fetchone()
    assert unmatched == (0,)
    # RP 2014 published only flows of 100 or more and no internal flows: the sums of its flows are
    # partial totals, and no census key figures of 2014 are given, so every total and share is null.
    edition = real_warehouse.sql("select is_complete, publication_threshold_workers from int_census_editions").fetchall()
    assert edition == [(False, 100)]
    partial = real_warehouse.sql("""select count(*) from int_flow_totals
        where employed_residents is not null or jobs_filled is not null or internal is not null""").fetchone()
    assert partial == (0,)
    paris_boulogne = real_warehouse.sql("""select distance_km from interdependencies
        where level = 'commune' and code_a = '75056' and code_b = '92012'""").fetchone()
    assert 5 < paris_boulogne[0] < 15  # centroid of Paris to centroid of Boulogne-Billancourt


def test_idf_shares_use_no_partial_denominator(real_warehouse):
    shares = real_warehouse.sql("""select count(share_of_a_workers_employed_in_b_pct) + count(share_of_b_jobs_held_by_a_residents_pct)
        + count(share_of_b_workers_employed_in_a_pct) + count(share_of_a_jobs_held_by_b_residents_pct), count(*)
        from interdependencies""").fetchone()
    assert shares[0] == 0 and shares[1] > 5_000
    indicators = real_warehouse.sql("""select count(self_containment_pct) + count(job_concentration_pct)
        + count(employed_residents_workers) from territory_indicators""").fetchone()
    assert indicators == (0,)
    # Paris <- Boulogne is a sum of arrondissement flows of 100 or more: a lower bound, never a share
    status = real_warehouse.sql("""select workers_a_to_b_status, workers_b_to_a_status from interdependencies
        where level = 'commune' and code_a = '92012' and code_b = '75056'""").fetchall()
    assert status == [("lower_bound", "lower_bound")]


def test_idf_rings_internal_plus_external_is_total(real_warehouse):
    rows = real_warehouse.sql("""
        select origin_code, sum(value) filter (where destination_code = origin_code),
               sum(value) filter (where destination_code <> origin_code), sum(value)
        from material_flows where flow_kind = 'commuters' and level = 'group' group by all""").fetchall()
    assert {r[0] for r in rows} == {"petite_couronne", "grande_couronne"}
    for _, internal, external, total in rows:
        assert internal + external == pytest.approx(total, abs=1e-6)
