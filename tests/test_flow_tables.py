"""Interdependencies, ledger and urban/rural matrix of the release built from the fixture mirror
with the custom groups of tests/fixtures/groups: conservation, allocation, energy, symmetry, groups."""

from __future__ import annotations

import math

import pytest

from .conftest import latest, query


@pytest.fixture(scope="module")
def tables(release):
    current = latest(release)
    return {name: current / f"{name}.parquet" for name in (
        "commuting_flows", "interdependencies", "material_flows", "territories", "territory_indicators",
        "urban_rural_matrix")}


def sql(tables, text: str):
    for name, path in tables.items():
        text = text.replace("{" + name + "}", f"'{path}'")
    import duckdb

    return duckdb.sql(text).fetchall()


def test_outflows_sum_to_employed_residents_and_inflows_to_jobs(tables):
    mismatches = sql(tables, """
        with out_ as (select level, origin_code as code, year, sum(value) as v from {material_flows}
                      where flow_kind = 'commuters' group by all),
             in_ as (select level, destination_code as code, year, sum(value) as v from {material_flows}
                     where flow_kind = 'commuters' group by all)
        select i.level, i.code, i.year from {territory_indicators} i
        left join out_ o using (level, code, year) left join in_ n using (level, code, year)
        where i.level in ('commune', 'epci', 'group') and i.workers_totals_source = 'insee_mobpro_flux'
          and (abs(i.employed_residents_workers - o.v) > 1e-4 or abs(i.jobs_filled_workers - coalesce(n.v, 0)) > 1e-4)""")
    assert mismatches == []
    assert sql(tables, "select count(*) from {territory_indicators} where employed_residents_workers > 0")[0][0] > 100


def test_each_flow_kind_has_its_method_and_unit(tables):
    # that allocated land sums to the land take, that transfers stay within surpluses and deficits
    # and that pair rows mirror each other are dbt tests (dbt_project/tests/), run by every build
    methods = sql(tables, "select distinct flow_kind, method, unit from {material_flows} order by all")
    assert methods == [("commuters", "observed", "workers"), ("electricity_transfer", "modelled", "MWh"),
                       ("food_land", "modelled", "ha"), ("housing_land_for_jobs", "allocated", "ha"),
                       ("wage_income", "modelled", "EUR")]


def haversine_km(a, b):
    (lon1, lat1), (lon2, lat2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_commune_distances_are_between_boundary_centroids(tables):
    from .fixtures.make_fixtures import CENTRES

    pairs = sql(tables, "select distinct code_a, code_b, distance_km from {interdependencies} where level = 'commune'")
    assert len(pairs) > 20
    for a, b, distance in pairs:
        assert distance == pytest.approx(haversine_km(CENTRES[a], CENTRES[b]), abs=0.01), (a, b)


def test_shares_are_consistent_with_totals(tables):
    row = sql(tables, """select workers_a_to_b, employed_residents_a_workers, jobs_filled_b_workers,
                                share_of_a_workers_employed_in_b_pct, share_of_b_jobs_held_by_a_residents_pct
                         from {interdependencies} where level = 'group' and code_a = 'bugey_rural'
                         and code_b = 'lyon_bugey' and year = 2022""")[0]
    flow, residents, jobs, share_workers, share_jobs = row
    assert share_workers == pytest.approx(100 * flow / residents, abs=1e-4)
    assert share_jobs == pytest.approx(100 * flow / jobs, abs=1e-4)


def test_group_flows_are_sums_over_members_and_internal_plus_external_is_total(tables):
    members = {"lyon_bugey": {"69123", "69029", "01004"}, "bugey_rural": {"01453", "01414", "01001"}}
    commune = sql(tables, "select origin_code, destination_code, year, workers from {commuting_flows} where level = 'commune'")
    group = {(o, d, y): w for o, d, y, w in sql(tables, """select origin_code, destination_code, year, workers
                                                            from {commuting_flows} where level = 'group'""")}
    for year in (2019, 2022):
        for gid, codes in members.items():
            internal = sum(w for o, d, y, w in commune if y == year and o in codes and d in codes)
            total_out = sum(w for o, d, y, w in commune if y == year and o in codes)
            assert group[(gid, gid, year)] == pytest.approx(internal, abs=1e-4)
            external = sum(w for (o, d, y), w in group.items() if y == year and o == gid and d != gid)
            assert internal + external == pytest.approx(total_out, abs=1e-4)
        between = sum(w for o, d, y, w in commune if y == year and o in members["bugey_rural"] and d in members["lyon_bugey"])
        assert group[("bugey_rural", "lyon_bugey", year)] == pytest.approx(between, abs=1e-4)
    names = dict(sql(tables, "select code, name from {territories} where level = 'group'"))
    assert names == {"bugey_rural": "Bugey rural", "lyon_bugey": "Contrat Lyon - Bugey"}


def test_urban_rural_matrix_sums_the_commune_ledger(tables):
    for classification in ("density_grid", "aav2020"):
        matrix = dict(((k, y), v) for k, y, v in sql(tables, f"""select flow_kind, year, sum(value) from {{urban_rural_matrix}}
                                                               where classification = '{classification}' group by all"""))
        ledger = dict(((k, y), v) for k, y, v in sql(tables, """select flow_kind, year, sum(value) from {material_flows}
                                                               where level = 'commune' group by all"""))
        assert matrix.keys() == ledger.keys()
        assert all(matrix[k] == pytest.approx(ledger[k], abs=1e-3) for k in ledger)
    classes = dict(sql(tables, """select flow_kind = 'wage_income', list(distinct origin_class order by origin_class)
                                  from {urban_rural_matrix} where classification = 'density_grid' group by all"""))
    assert classes == {False: ["intermediate", "rural", "urban"], True: ["abroad", "intermediate", "rural", "urban"]}
    rural_to_rural = sql(tables, """select value from {urban_rural_matrix} where classification = 'density_grid'
        and flow_kind = 'electricity_transfer' and origin_class = 'rural' and destination_class = 'rural' and year = 2022""")
    assert rural_to_rural and rural_to_rural[0][0] > 0  # the Bugey's surplus commune covers a neighbour's deficit


def test_modelled_transfers_stay_within_their_perimeter(tables):
    """A commune's surplus goes to communes of its EPCI, an EPCI's to EPCIs of its région
    (docs/methods.md, modelled transfers): the Bugey's wind farm no longer feeds Lyon commune by
    commune, but the Bugey's EPCI still covers part of the Métropole's deficit."""
    crossing = sql(tables, """select m.level, m.origin_code, m.destination_code
        from {material_flows} as m
        join {territories} as o on o.level = m.level and o.code = m.origin_code
        join {territories} as d on d.level = m.level and d.code = m.destination_code
        where m.flow_kind in ('electricity_transfer', 'food_land') and ((m.level = 'commune' and o.epci_code is distinct from d.epci_code)
                                         or (m.level = 'epci' and o.region_code is distinct from d.region_code))""")
    assert crossing == []
    levels = dict(sql(tables, """select level, count(*) from {material_flows}
                             where flow_kind in ('electricity_transfer', 'food_land') group by all"""))
    assert levels["commune"] > 0 and levels["epci"] > 0
    lyon_from_bugey = sql(tables, """select sum(value) from {material_flows} where flow_kind = 'electricity_transfer'
        and level = 'epci' and origin_code = '200040350' and destination_code = '200046977'""")
    assert lyon_from_bugey[0][0] > 0


def declared_indicators() -> list[list[str]]:
    """The additive indicators dbt_project.yml declares (var `indicators`): per entry, its names
    (one per category of its `for_each` list)."""
    import yaml

    from .conftest import PROJECT

    variables = yaml.safe_load((PROJECT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return [[entry["name"].replace("{x}", x) for x in (variables[entry["for_each"]] if "for_each" in entry else [""])]
            for entry in variables["indicators"]]


def test_every_declared_indicator_is_published_in_order_and_with_values(tables):
    entries = declared_indicators()
    declared = [name for names in entries for name in names]
    assert len(declared) == len(set(declared)) > 20
    columns = [c for c, *_ in sql(tables, "DESCRIBE SELECT * FROM {territory_indicators}")]
    assert [c for c in columns if c in declared] == declared  # none missing, in the declared order
    counts = {n: sql(tables, f"SELECT count({n}) FROM {{territory_indicators}}")[0][0] for n in declared}
    # every entry yields values (a category the fixture lacks, such as bioenergy, may stay empty)
    assert [names for names in entries if not any(counts[n] for n in names)] == []


def test_food_land_balance_and_flows_from_the_census_farmland(tables):
    """The fixture's farmland (make_fixtures.FARMLAND_2010, by commune of the farms' headquarters in
    the 2010 geography) against its population x 0.4 ha, and its surplus sent to the deficits of
    the same région at EPCI level, worked out here by hand."""
    from .fixtures.make_fixtures import FARMLAND_2010, POPULATION

    need = 0.4
    productive = {c: sum(a or 0 for crop, a in crops.items() if crop != "Jachères") for c, crops in FARMLAND_2010.items()}
    rows = {c: (a, p, b) for c, a, p, b in sql(tables, """select code, agricultural_area_ha, productive_agricultural_area_ha,
        food_land_balance_ha from {territory_indicators} where level = 'commune' and year = 2010""")}
    assert rows["01001"] == pytest.approx((1065, 1030, 1030 - 859 * need))
    assert rows["01004"][1] == pytest.approx(productive["01004"] + productive["01002"])  # 01002 merged into 01004 since
    assert rows["01453"][1] + rows["01414"][1] == pytest.approx(1800)  # a secret cell counts as missing; 01414 left since
    assert rows["75056"] == (None, 0, pytest.approx(-POPULATION["75056"] * need))  # no farm: no area, a need
    balance = dict(sql(tables, """select code, food_land_balance_ha from {territory_indicators}
                                  where level = 'epci' and year = 2010"""))
    flows = dict(((o, d), v) for o, d, v in sql(tables, """select origin_code, destination_code, value from {material_flows}
                                                        where flow_kind = 'food_land' and level = 'epci'"""))
    ain_surplus = {"200040350", "200069193"}  # CC Bugey Sud, CC de la Dombes
    ain_deficit = {"200046977", "240100883"}  # Métropole de Lyon, CC de la Plaine de l'Ain
    surplus, deficit = sum(balance[c] for c in ain_surplus), -sum(balance[c] for c in ain_deficit)
    assert surplus < deficit  # région 84's surplus is all sent: min(S, D) = S
    for s in ain_surplus:
        for d in ain_deficit:
            assert flows[(s, d)] == pytest.approx(surplus * balance[s] / surplus * -balance[d] / deficit, abs=1e-6)
    assert sum(v for (o, _), v in flows.items() if o in ain_surplus) == pytest.approx(surplus)
    assert not any(o in ain_surplus and d not in ain_deficit for o, d in flows)  # nothing leaves the région


def test_wage_income_is_commuters_times_the_wage_of_their_commune(tables):
    """The fixture's wages (make_fixtures.NET_HOURLY_WAGE_2022, by commune of residence) x 1,820 paid
    hours x the commuters of the 2022 census, from the workplace to the residence, worked out here by
    hand; a commune INSEE does not publish takes its département's population-weighted mean."""
    from .fixtures.make_fixtures import NET_HOURLY_WAGE_2022

    commuters = {(o, d): v for o, d, v in sql(tables, """select origin_code, destination_code, value from {material_flows}
        where flow_kind = 'commuters' and level = 'commune' and year = 2022""")}
    wages = {(o, d): v for o, d, v in sql(tables, """select origin_code, destination_code, value from {material_flows}
        where flow_kind = 'wage_income' and level = 'commune' and year = 2022""")}
    assert set(wages) == {(d, o) for o, d in commuters}  # every commuter of the census is paid, the other way round
    paris_to_lyon = commuters[("69123", "75056")]  # living in Lyon, working in Paris: paid Lyon's wage
    assert wages[("75056", "69123")] == pytest.approx(paris_to_lyon * NET_HOURLY_WAGE_2022["69123"] * 1820, rel=1e-9)
    # 01001's cell is empty, 01453 has no row: both take the Ain's only published commune, 01004
    for home in ("01001", "01453"):
        assert wages[("69123", home)] == pytest.approx(commuters[(home, "69123")] * NET_HOURLY_WAGE_2022["01004"] * 1820,
                                                       rel=1e-9)
    abroad = sql(tables, """select value from {material_flows} where flow_kind = 'wage_income' and level = 'commune'
                            and year = 2022 and origin_code = 'MO001'""")
    assert len(abroad) == 1  # a job abroad pays its commuter too


def test_wage_shares_of_a_territory_add_up_from_the_flows(tables):
    """Per EPCI: its residents' wages are the flows reaching it, its jobs' wages those leaving it; the
    shares earned or paid elsewhere are the parts crossing its boundary."""
    rows = sql(tables, """
        with f as (select * from {material_flows} where flow_kind = 'wage_income' and level = 'epci' and year = 2022)
        select i.code, i.resident_wage_income_eur, i.resident_wages_earned_elsewhere_pct,
               i.job_wage_income_eur, i.job_wages_paid_elsewhere_pct,
               (select sum(value) from f where destination_code = i.code),
               (select sum(value) from f where destination_code = i.code and origin_code <> i.code),
               (select sum(value) from f where origin_code = i.code),
               (select sum(value) from f where origin_code = i.code and destination_code <> i.code)
        from {territory_indicators} i where i.level = 'epci' and i.year = 2022""")
    assert len(rows) == 8
    for code, resident, resident_pct, job, job_pct, into, into_elsewhere, out, out_elsewhere in rows:
        assert resident == pytest.approx(into) and job == pytest.approx(out), code
        assert resident_pct == pytest.approx(100 * into_elsewhere / into, abs=1e-4), code
        assert job_pct == pytest.approx(100 * out_elsewhere / out, abs=1e-4), code
    paris = [r for r in rows if r[0] == "200054781"][0]
    assert 0 < paris[2] < 100 and 0 < paris[4] < 100
