"""National-size inputs in the producers' formats, laid out as a mirror of their URLs.

Every source of `sources/` and every vintage, with the headers, separators, packaging (zip, xlsx
with title lines, gzip GeoJSON), decimal commas and code quirks of the fixture mirror
(tests/fixtures/make_fixtures.py, whose formats the parser tests hold against the real files), at
national size: about 34,700 communes (2A/2B, leading zeros, Paris, Lyon and Marseille by
arrondissement in the census files), 350 of them merged into a neighbour on 1 January 2025.

`scale` multiplies what grows with finer data on the same territory: commuting pairs per census
(about 1 million at scale 1), energy consumption rows (more operators), production installations
and URSSAF activity codes. The commune reference stays national (French codes have five
characters: there are not ten Frances to number). Values come from a hash of (seed, row): the same
seed gives the same files. All values are synthetic: a benchmark input, never data to publish.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from pipelines.ingest.contracts import load_contracts  # noqa: E402
from pipelines.ingest.fetch import mirror_location  # noqa: E402
from tests.fixtures.make_fixtures import DENSITY_LABELS, FIXED_TIME, membership_sheet, xlsx_bytes  # noqa: E402

MERGED_ON = 2025  # geography from which the merged communes are gone
METRO_COMMUNES_PER_DEPARTEMENT = 360
DROM_COMMUNES_PER_DEPARTEMENT = 30
REGIONS = {"11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
           "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
           "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
           "93": "Provence-Alpes-Côte d'Azur", "94": "Corse", "01": "Guadeloupe", "02": "Martinique", "03": "Guyane",
           "04": "La Réunion"}
PLM = {"75056": ("751", 20), "69123": ("6938", 9), "13055": ("132", 16)}  # city: arrondissement code prefix, count
SECTORS = ("a", "i", "t", "r", "na")


def departements() -> list[tuple[str, str]]:
    """(code, region) of the 96 metropolitan and 4 overseas départements (no Mayotte, as in the census)."""
    metro = [f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B"]
    regions = [r for r in REGIONS if r not in ("94", "01", "02", "03", "04")]
    rows = [(d, "94" if d in ("2A", "2B") else "11" if d in ("75", "77", "78", "91", "92", "93", "94", "95")
             else regions[i % len(regions)]) for i, d in enumerate(metro)]
    return rows + [("971", "01"), ("972", "02"), ("973", "03"), ("974", "04")]


def universe(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """Tables `communes` (current and merged-away communes, with every attribute a source names)
    and `census_places` (the census's places: Paris, Lyon, Marseille by arrondissement)."""
    con.execute(f"create or replace macro u(a, b) as (hash({seed}, a, b) % 1000003) / 1000003.0")
    con.execute("create or replace table deps (dep varchar, reg varchar, dep_index integer)")
    con.executemany("insert into deps values (?, ?, ?)", [(d, r, i) for i, (d, r) in enumerate(departements())])
    con.execute(f"""
        create or replace table numbered as
        select dep, reg, dep_index, k,
               case when length(dep) = 3 then dep || lpad(k::varchar, 2, '0') else dep || lpad(k::varchar, 3, '0') end as code
        from deps, range(1, {METRO_COMMUNES_PER_DEPARTEMENT} + 1) r(k)
        where (length(dep) = 2 or k <= {DROM_COMMUNES_PER_DEPARTEMENT})
          and (dep <> '75' or k = 56) and not (dep = '13' and k between 201 and 216)""")
    con.execute("""
        create or replace table communes as
        with base as (
            select *, row_number() over (order by code) - 1 as idx,
                   case code when '75056' then 2113705 when '13055' then 873076 when '69123' then 520774
                        else least(250000, cast(90 * pow(u(code, 'pop'), -1.05) as integer)) end as population
            from numbered)
        select code, 'Commune ' || code as name, dep, reg, idx, population,
               '2' || lpad((dep_index * 20 + k // 28)::varchar, 8, '0') as epci,
               lpad(((dep_index * 7 + k // 50) % 999 + 1)::varchar, 3, '0') as aav,
               case when population >= 50000 then 11 when population >= 5000 then 12 when population >= 800 then 20
                    else 30 end as aav_category,
               case when population >= 50000 then 1 when population >= 15000 then 2 when population >= 5000 then 3
                    when population >= 2000 then 4 when population >= 1000 then 5 when population >= 300 then 6
                    else 7 end as density7,
               -- 1 % of the others merge into their predecessor in the département on 1 January 2025
               case when k > 1 and code not in ('75056', '13055', '69123') and u(code, 'merge') < 0.01
                    then lag(code) over (partition by dep order by code) end as merged_into
        from base""")
    # A chain of merges would absorb into a commune that is itself gone: keep the first of each chain.
    con.execute("update communes set merged_into = null where merged_into in (select code from communes where merged_into is not null)")
    con.execute("""
        create or replace table census_places as
        select code as place, code as commune, population, idx, dep from communes where code not in ('75056', '69123', '13055')
        union all
        select prefix || lpad(n::varchar, (5 - length(prefix))::integer, '0'), city, c.population // count, c.idx, c.dep
        from (values ('75056', '751', 20, 1), ('69123', '6938', 9, 1), ('13055', '132', 16, 1)) p(city, prefix, count, first),
             communes c, range(first, first + count) r(n)
        where c.code = p.city""")


def current(geography: int, communes: str = "") -> str:
    """SQL condition on `communes` (or its alias) for the communes of a geography year."""
    return "true" if geography < MERGED_ON else f"{communes + '.' if communes else ''}merged_into is null"


def copy_csv(con, sql: str, path: Path, sep: str = ";") -> None:
    """`sql`'s result as the producers write CSV: an empty field is written as nothing (DuckDB
    writes "" for an empty string, so empty literals become nulls)."""
    sql = re.sub(r"(?<=[\s(,])''(?=\s*(,|as\b))", "null", sql)
    con.execute(f"copy ({sql}) to '{path}' (header, delimiter '{sep}')")


def zipped(members: dict[str, Path | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as member:
                member.write(data if isinstance(data, bytes) else data.read_bytes())
    return out.getvalue()


def mobpro(con, tmp: Path, vintage: int, geography: int, scale: float) -> bytes:
    """About a million pairs per census at scale 1: each place sends workers to itself and to
    nearby places (by index), more of them the closer; the 2018 edition kept only flows of 100
    or more between distinct communes, as INSEE published it."""
    yy = f"{vintage % 100:02d}"
    con.execute(f"""
        create or replace table flows_{vintage} as
        with places as (
            select p.*, row_number() over (order by place) - 1 as n, count(*) over () as total
            from census_places p join communes c on c.code = p.commune where {current(geography, 'c')}),
        fan as (
            select o.place as origin, o.population, o.total, o.n,
                   cast((4 + 50 * u(o.place, {vintage})) * {scale} as integer) as width
            from places o),
        pairs as (
            select origin, population, ((n + j - width // 2) % total + total) % total as target_n,
                   case when j = width // 2 then 3.0 else 1.0 / pow(1 + abs(j - width // 2), 1.3) end as weight
            from fan, range(0, width + 1) r(j))
        select origin, d.place as destination,
               round(0.42 * pairs.population * weight / sum(weight) over (partition by origin)
                     * (0.8 + 0.4 * u(origin || d.place, {vintage})), 7) as workers
        from pairs join places d on d.n = pairs.target_n
        union all  -- a workplace abroad for the Alpes-Maritimes
        select place, 'MO001', round(population * 0.02, 7) from places where dep = '06'""")
    keep = "workers >= 100 and origin <> destination" if vintage == 2018 else "true"
    path = tmp / f"mobpro_{vintage}.csv"
    copy_csv(con, f"""select origin as CODGEO, 'Commune ' || origin as LIBGEO, destination as DCLT,
                             case when destination = 'MO001' then 'Monaco' else 'Commune ' || destination end as L_DCLT,
                             workers as NBFLUX_C{yy}_ACTOCC15P
                      from flows_{vintage} where {keep} order by origin, destination""", path)
    return zipped({f"base-flux-mobilite-domicile-lieu-travail-{vintage}.csv": path})


def emploi_pop_active(con, tmp: Path, vintage: int, geography: int, census_geography: int) -> bytes:
    """Key figures consistent with the same census's flows: employed residents are all of a
    commune's outflows, jobs all its inflows (arrondissements folded into their city)."""
    yy = f"{vintage % 100:02d}"
    fold = "case when {c} like '751%' and length({c}) = 5 and {c} >= '75101' then '75056' " \
           "when {c} between '69381' and '69389' then '69123' when {c} between '13201' and '13216' then '13055' else {c} end"
    path = tmp / f"base_cc_{vintage}.csv"
    copy_csv(con, f"""
        with outflows as (select {fold.format(c='origin')} as code, sum(workers) as occupied from flows_{vintage} group by 1),
             inflows as (select {fold.format(c='destination')} as code, sum(workers) as jobs from flows_{vintage} group by 1)
        select c.code as CODGEO, round(c.population * 0.63, 5) as P{yy}_POP1564, round(c.population * 0.47, 5) as P{yy}_ACT1564,
               round(coalesce(o.occupied, 0), 5) as P{yy}_ACTOCC15P, round(coalesce(i.jobs, 0), 5) as P{yy}_EMPLT,
               round(coalesce(i.jobs, 0) * 0.88, 5) as P{yy}_EMPLT_SAL
        from communes c left join outflows o using (code) left join inflows i using (code)
        where {current(geography)} order by c.code""", path)
    return zipped({f"base-cc-emploi-pop-active-{vintage}.CSV": path,
                   f"meta_base-cc-emploi-pop-active-{vintage}.xlsx": b"PK\x05\x06" + bytes(18)})


def cerema(con, tmp: Path, years: tuple[int, ...], geography: int) -> bytes:
    last = (years[-1] + 1) % 100
    columns, totals = [], []
    for y in years:
        yy, zz = f"{y % 100:02d}", f"{(y + 1) % 100:02d}"
        parts = [f"case when u(code, '{y}{d}') < 0.5 then 0 else cast(100 + 8900 * u(code, '{y}{d}x') as integer) end"
                 for d in ("act", "hab", "mix", "rou", "fer", "inc")]
        columns.append(f"{' + '.join(parts)} as naf{yy}art{zz}")
        columns += [f"{p} as art{yy}{d}{zz}" for p, d in zip(parts, ("act", "hab", "mix", "rou", "fer", "inc"))]
        totals.append(f"naf{yy}art{zz}")
    path = tmp / "cerema.csv"
    copy_csv(con, f"""
        with land as (select code, name, reg, dep, epci, aav, population, {', '.join(columns)}
                      from communes where {current(geography)})
        select code as idcom, name as idcomtxt, reg as idreg, 'Région ' || reg as idregtxt, dep as iddep,
               'Département ' || dep as iddeptxt, epci as epci23, 'EPCI ' || epci as epci23txt, '' as scot,
               aav as aav2020, 'Aire ' || aav as aav2020txt, '' as aav2020_typo,
               columns(c -> c similar to '(naf|art)[0-9]+.*'),
               {' + '.join(totals)} as naf09art{last}, round(({' + '.join(totals)}) / 1e6, 2) as artcom09{last},
               population as pop15, population as pop21, 1000000 as surfcom2024
        from land order by code""", path)
    return path.read_bytes()


def urssaf(con, tmp: Path, years: tuple[int, ...], geography: int, scale: float) -> bytes:
    """Jobs by commune (arrondissements for the three cities) and activity code: ten activity
    codes per commune at scale 1, more with the scale."""
    activities = max(1, round(10 * scale))
    values = ", ".join(f"cast(40 * u(place || ape, '{y}e') as integer) as nombre_d_etablissements_{y}, "
                       f"cast(p.population * 0.03 * u(place || ape, '{y}j') as integer) as effectifs_salaries_{y}"
                       for y in years)
    path = tmp / "urssaf.csv"
    copy_csv(con, f"""
        select '' as region, '' as code_region, '' as departement, left(place, 2) as code_departement,
               'Commune ' || place as commune, place as code_commune, '' as ape, ape as code_ape, {values}
        from census_places p join communes c on c.code = p.commune,
             (select lpad(a::varchar, 4, '0') || 'Z' as ape from range({activities}) r(a))
        where {current(geography, 'c')} order by place, ape""", path)
    return path.read_bytes()


AGRESTE_CROPS = (("1", "Céréales"), ("2", "Oléagineux, protéagineux, plantes à fibres  (Total)"),
                 ("9", "Fourrages et superficies toujours en herbe"), ("11", "Vignes"), ("13", "Jachères"),
                 ("101", "_Blé tendre"))


def agreste(con, tmp: Path, census: int, geography: int) -> bytes:
    """The agricultural census table G_1013 as Disar ships it (the fixture's layout): farms in 90 %
    of the communes under 5,000 inhabitants, département subtotals (twelve dots), two size classes,
    six crop rows (one a sub-group) and two measures per place, 2 % of the cells secret."""
    crops = ", ".join(f"('{code}', '{label}')" for code, label in AGRESTE_CROPS)
    dots = "." * 12
    path = tmp / f"FDS_G_1013_{census}.txt"
    copy_csv(con, f"""
        with places as (
            select code as com, dep, reg from communes
            where {current(geography)} and population < 5000 and u(code, 'farm') < 0.9
            union all
            select distinct '{dots}', dep, reg from communes),
        cells as (
            select * from places,
                (values ('0', 'Ensemble des exploitations (hors pacages collectifs)', 1.0), ('1', 'Moins de 20 ha', 0.2)) s(size_code, size, share),
                (values {crops}) c(crop_code, crop),
                (values ('1', 'Exploitations (nombre)'), ('2', 'Superficie correspondante (hectares)')) m(measure_code, measure))
        select 'G_1013' as NOM, {census} as ANNREF, case when length(dep) = 3 then 'DOM' else 'METRO' end as FRDOM,
               'NR' || reg as REGION, dep as DEP, com as COM, size_code as G_1013_MOD_DIM1, size as G_1013_LIB_DIM1,
               crop_code as G_1013_MOD_DIM2, crop as G_1013_LIB_DIM2, '0' as G_1013_MOD_DIM3, 'Ensemble' as G_1013_LIB_DIM3,
               measure_code as G_1013_MOD_DIM4, measure as G_1013_LIB_DIM4,
               case when u(com || crop_code, 'secret') < 0.02 then null
                    when measure_code = '1' then greatest(1, cast(20 * u(com || crop_code, 'n') as integer))
                    else cast(share * (case when com = '{dots}' then 300 else 1 end) * 400 * u(com || crop_code, 'ha') as integer)
               end as VALEUR,
               '' as QUALITE
        from cells order by dep, com, size_code, crop_code, measure_code""", path)
    return zipped({path.name: path})


def salaires(con, tmp: Path, vintage: int, geography: int) -> bytes:
    """INSEE's base communale of wages (the fixture's base-cc layout): the communes of 2,000
    inhabitants or more (INSEE publishes a commune only above a number of employees), 1 % of them
    with empty cells, Paris, Lyon and Marseille whole; mean net hourly wages by group, in euros."""
    yy = f"{vintage % 100:02d}"
    groups = (("", 1.0), ("C", 1.9), ("P", 1.15), ("E", 0.82), ("O", 0.85), ("F", 0.88), ("H", 1.1))
    columns = ", ".join(f"case when u(code, 'wage secret') < 0.01 then null "
                        f"else round((13 + 9 * u(code, 'wage')) * {k} * {1 + (vintage - 2022) * 0.035}, 2) end as SNHM{g}{yy}"
                        for g, k in groups)
    path = tmp / f"base-cc-salaires-{vintage}.csv"
    copy_csv(con, f"""select code as CODGEO, name as LIBGEO, {columns} from communes
                      where {current(geography)} and population >= 2000 order by code""", path)
    meta = tmp / f"meta_base-cc-salaires-{vintage}.csv"
    copy_csv(con, f"select 'SNHM{yy}' as COD_VAR, 'Salaire net horaire moyen en {vintage}' as LIB_VAR", meta)
    return zipped({f"base-cc-salaires-{vintage}.CSV": path, f"meta_base-cc-salaires-{vintage}.CSV": meta})


def ore(con, tmp: Path, years: range, geography: int, scale: float) -> bytes:
    """Electricity for every commune and gas for 30 % of them, every year; `scale` operators."""
    operators = max(1, round(scale))
    sector_columns = ", ".join(
        f"case when u(code || op || filiere, '{s}s') < 0.03 then null else round(population * 2.5 * u(code || op, '{s}{{y}}'), 3) end as conso{s}, "
        f"cast(population / 2 * u(code, '{s}p') as integer) as pdl{s}, "
        f"case when u(code || op || filiere, '{s}s') < 0.03 then 1 else 0 end as nombre_mailles_secretisees_{s}"
        for s in SECTORS)
    path = tmp / "ore.csv"
    copy_csv(con, f"""
        with rows as (
            select case when o = 0 then (case filiere when 'Gaz' then 'GRDF' else 'Enedis' end) else 'Régie ' || o end as op,
                   y as annee, filiere, c.*
            from communes c, range({years.start}, {years.stop}) r(y), range({operators}) ops(o),
                 (values ('Electricité'), ('Gaz')) f(filiere)
            where {current(geography)} and (filiere = 'Electricité' or u(code, 'gas') < 0.3)),
        valued as (select *, {sector_columns.replace('{y}', "' || annee || '")} from rows)
        select op as operateur, annee, filiere, {', '.join(f'conso{s}, pdl{s}, nombre_mailles_secretisees_{s}' for s in SECTORS)},
               '0.9' as indquala, '' as thermor, '' as partr,
               round(coalesce(consoa, 0) + coalesce(consoi, 0) + coalesce(consot, 0) + coalesce(consor, 0) + coalesce(consona, 0), 3) as consototale,
               code as code_commune, name as libelle_commune, epci as code_epci, dep as code_departement, reg as code_region
        from valued order by annee, code, filiere, op""", path)
    return path.read_bytes()


def odre(con, tmp: Path, snapshot: int, geography: int, decimal: str, scale: float) -> bytes:
    """One aggregate of the installations under 36 kW per commune (97 %; 0.09 kW per inhabitant on
    average, as rooftop solar in France), about 1.2 individual installations per commune at scale 1
    (rooftops of 36 to 436 kW; a wind, hydro or solar farm of 2 to 32 MW in 8 % of the communes),
    so that about one commune in twenty produces more than it consumes."""
    per_commune = max(1, round(2 * scale))
    number = (lambda e: f"replace(cast({e} as varchar), '.', ',')") if decimal == "," else (lambda e: e)
    path = tmp / f"odre_{snapshot}.csv"
    copy_csv(con, f"""
        with individual as (
            select c.*, i, ['Solaire', 'Eolien', 'Hydraulique'][1 + cast(3 * u(code || i, 'kind') as integer) % 3] as filiere,
                   round(case when i = 0 and u(code, 'farm') < 0.08 then 2000 + 30000 * pow(u(code, 'size'), 2)
                              else 36 + 400 * pow(u(code || i, {snapshot}), 2) end, 3) as kw
            from communes c, range({per_commune}) r(i) where {current(geography)} and u(code || i, 'has') < 0.6),
        aggregate as (
            select *, 'Solaire' as filiere, round(population * 0.09 * (0.5 + u(code, 'agg{snapshot}')), 3) as kw
            from communes where {current(geography)} and u(code, 'agg') < 0.97)
        select nominstallation, '' as codeeicresourceobject, code as codeinseecommune, name as commune, epci as codeepci,
               'EPCI ' || epci as epci, dep as codedepartement, 'Département ' || dep as departement, reg as coderegion,
               'Région ' || reg as region, date as dateraccordement, date as datemiseenservice, upper(left(filiere, 4)) as codefiliere,
               filiere, '' as codetechnologie, technologie, {number('kw')} as puismaxinstallee, nb as nbinstallations,
               {number('round(kw * hours, 3)')} as energieannuelleglissanteinjectee,
               {number('round(kw * hours * 1.02, 3)')} as energieannuelleglissanteproduite
        from (select 'Confidentiel' as nominstallation, code, name, epci, dep, reg, '2015-06-01' as date, filiere,
                     case filiere when 'Solaire' then 'Photovoltaïque' when 'Eolien' then 'Terrestre' else 'Fil de l''eau' end as technologie,
                     kw, 1 as nb, case filiere when 'Solaire' then 1100 when 'Eolien' then 2200 else 3000 end as hours
              from individual
              union all
              select 'Agrégation des installations de moins de 36KW', code, name, epci, dep, reg, '', 'Solaire',
                     'Photovoltaïque', kw, 2 + cast(300 * u(code, 'n') as integer), 1100
              from aggregate)
        order by codeinseecommune, nominstallation, kw""", path)
    return path.read_bytes()


def cog_communes(con, tmp: Path, vintage: int) -> bytes:
    path = tmp / f"cog_{vintage}.csv"
    copy_csv(con, f"""
        select * from (
            select 'COM' as TYPECOM, code as COM, reg as REG, dep as DEP, dep || 'D' as CTCD, dep || '1' as ARR, '0' as TNCC,
                   upper(name) as NCC, name as NCCENR, name as LIBELLE, dep || '01' as CAN, '' as COMPARENT
            from communes where merged_into is null or {vintage} < {MERGED_ON}
            union all
            select 'COMD', code, '', '', '', '', '1', upper(name), name, name, '', merged_into
            from communes where merged_into is not null and {vintage} >= {MERGED_ON}
            union all
            select 'ARM', place, '', '', '', '', '0', upper('Arrondissement ' || place), 'Arrondissement ' || place,
                   'Arrondissement ' || place, '', commune
            from census_places where place <> commune)
        order by COM, TYPECOM""", path, sep=",")
    return path.read_bytes()


def cog_mouvements(con, tmp: Path) -> bytes:
    """Four rows per merger of 1 January 2025, as INSEE writes them (see the fixture's 01002 -> 01004)."""
    path = tmp / "mvt.csv"
    copy_csv(con, f"""
        with m as (select c.code as av, c.name as av_name, c.merged_into as ap, a.name as ap_name
                   from communes c join communes a on a.code = c.merged_into)
        select 32 as MOD, '{MERGED_ON}-01-01' as DATE_EFF, 'COM' as TYPECOM_AV, av as COM_AV, '0' as TNCC_AV, upper(av_name) as NCC_AV,
               av_name as NCCENR_AV, av_name as LIBELLE_AV, type_ap as TYPECOM_AP, code_ap as COM_AP, '0' as TNCC_AP,
               upper(name_ap) as NCC_AP, name_ap as NCCENR_AP, name_ap as LIBELLE_AP
        from (select av, av_name, 'COM' as type_ap, ap as code_ap, ap_name as name_ap from m
              union all select av, av_name, 'COMD', av, av_name from m
              union all select ap, ap_name, 'COM', ap, ap_name from m
              union all select ap, ap_name, 'COMD', ap, ap_name from m)
        order by COM_AV, TYPECOM_AP, COM_AP""", path, sep=",")
    return path.read_bytes()


def populations(con, tmp: Path, geography: int) -> bytes:
    path = tmp / "populations.csv"
    copy_csv(con, f"""select reg as REG, 'Région ' || reg as "Région", dep as DEP, '1' as CODARR, '01' as CODCAN,
                             code[3:] as CODCOM, name as COM, population as PMUN, 10 as PCAP, population + 10 as PTOT
                      from communes where {current(geography)} order by code""", path)
    return zipped({"donnees_communes.csv": path, "donnees_departements.csv": b"REG;DEP;PMUN\r\n"})


def membership_rows(con, vintage: int) -> list[tuple]:
    return con.execute(f"select code, name, epci, 'EPCI ' || epci, dep, reg, aav, aav_category, density7, population "
                       f"from communes where {current(vintage)} order by code").fetchall()


def membership_books(con, vintage: int) -> dict[str, bytes]:
    """The EPCI and AAV workbooks, zipped (their title lines and sheets as the fixture's)."""
    rows = membership_rows(con, vintage)
    epcis = sorted({(r[2], r[3]) for r in rows})
    epci = xlsx_bytes({
        "EPCI": membership_sheet(["EPCI", "LIBEPCI", "NATURE_EPCI", "NB_COM"], [[e, n, "CC", 1] for e, n in epcis]),
        "Composition_communale": membership_sheet(["CODGEO", "LIBGEO", "EPCI", "LIBEPCI", "DEP", "REG"],
                                                  [list(r[:6]) for r in rows]),
    })
    aav = xlsx_bytes({
        "AAV2020": membership_sheet(["AAV2020", "LIBAAV2020", "TAAV2017", "NB_COM"], []),
        "Composition_communale": membership_sheet(["CODGEO", "LIBGEO", "AAV2020", "LIBAAV2020", "CATEAAV2020", "DEP", "REG"],
                                                  [[r[0], r[1], r[6], f"Aire {r[6]}", r[7], r[4], r[5]] for r in rows]),
    })
    return {"epci": zipped({f"Intercommunalite_Metropole_au_01-01-{vintage}.xlsx": epci}),
            "aav": zipped({f"AAV2020_au_01-01-{vintage}.xlsx": aav})}


def density_grid(con, vintage: int) -> bytes:
    """The density grid workbook (title lines and sheets as the fixture's)."""
    rows = []
    for code, name, *_, density7, population in membership_rows(con, vintage):
        dens3 = 1 if density7 == 1 else 2 if density7 <= 4 else 3
        rows.append([code, name, dens3, ["Dense", "Densité intermédiaire", "Peu dense"][dens3 - 1], density7,
                     DENSITY_LABELS[density7], population])
    return xlsx_bytes({"Documentation": (["Documentation"], [""], []),
                       "Maille communale": (["Grille communale de densité à 7 niveaux", "Source : Insee", "", ""],
                                            ["CODGEO", "LIBGEO", "DENS", "LIBDENS", "DENS7", "LIBDENS7", "PMUN21"], rows)})


def contours(con, geography: int) -> bytes:
    """A cell of a grid over mainland France per commune, 12 points a side (48 vertices, the size
    of the 100 m simplified boundaries), neighbours sharing their edges as real communes do;
    gzip-compressed GeoJSON. Consecutive codes are neighbours, so a département is a band."""
    width, height, steps = 0.05, 0.045, 12
    features = []
    rows = con.execute(f"select code, name, dep, reg, epci, idx from communes where {current(geography)} order by code").fetchall()
    for code, name, dep, reg, epci, idx in rows:
        x0, y0 = -4.5 + (idx % 190) * width, 42.5 + (idx // 190) * height
        corners = [(x0, y0), (x0 + width, y0), (x0 + width, y0 + height), (x0, y0 + height)]
        ring = [[round(ax + (bx - ax) * k / steps, 6), round(ay + (by - ay) * k / steps, 6)]
                for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1]) for k in range(steps)]
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
                         "properties": {"code": code, "nom": name, "departement": dep, "region": reg, "epci": epci}})
    payload = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    return gzip.compress(payload, mtime=0)


def small_references() -> dict[str, bytes]:
    deps = departements()
    lines = ["DEP,REG,CHEFLIEU,TNCC,NCC,NCCENR,LIBELLE"] + [
        f"{d},{r},,0,DEPARTEMENT {d},Département {d},Département {d}" for d, r in deps]
    regions = ["REG,CHEFLIEU,TNCC,NCC,NCCENR,LIBELLE"] + [
        f"{r},,0,{n.upper()},{n},{n}" for r, n in REGIONS.items()]
    return {"departements": ("\n".join(lines) + "\n").encode(), "regions": ("\n".join(regions) + "\n").encode()}


def build(mirror: Path, scale: float = 1.0, seed: int = 42, say=print) -> dict[str, Path]:
    """Write every source's files under `mirror` (<host>/<path> of its URL); returns url -> path."""
    contracts = load_contracts()
    written: dict[str, Path] = {}
    con = duckdb.connect()
    con.execute("set threads = 1")  # sums and row order independent of thread timing: the same seed, the same bytes

    def put(source_id: str, vintage: int, data: bytes) -> None:
        url = contracts[source_id].vintage(vintage).url
        target = Path(mirror_location(str(mirror), url))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written[url] = target
        say(f"  {len(data) / 1e6:8.1f} MB  {source_id} {vintage}")

    universe(con, seed)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        for v in contracts["insee_mobpro_flux"].vintages:
            put("insee_mobpro_flux", v.vintage, mobpro(con, tmp, v.vintage, v.geography, scale))
        for v in contracts["insee_emploi_pop_active"].vintages:
            census = contracts["insee_mobpro_flux"].vintage(v.vintage).geography
            put("insee_emploi_pop_active", v.vintage, emploi_pop_active(con, tmp, v.vintage, v.geography, census))
        v = contracts["cerema_enaf"].latest
        put("cerema_enaf", v.vintage, cerema(con, tmp, v.years, v.geography))
        v = contracts["urssaf_effectifs_commune"].latest
        put("urssaf_effectifs_commune", v.vintage, urssaf(con, tmp, v.years, v.geography, scale))
        v = contracts["ore_conso_elec_gaz"].latest
        put("ore_conso_elec_gaz", v.vintage, ore(con, tmp, range(2011, 2024), v.geography, scale))
        for v in contracts["odre_registre_production"].vintages:
            put("odre_registre_production", v.vintage, odre(con, tmp, v.vintage, v.geography, v.format.decimal, scale))
        for v in contracts["insee_cog_communes"].vintages:
            put("insee_cog_communes", v.vintage, cog_communes(con, tmp, v.vintage))
        put("insee_cog_mouvements", 2026, cog_mouvements(con, tmp))
        references = small_references()
        put("insee_cog_departements", 2026, references["departements"])
        put("insee_cog_regions", 2026, references["regions"])
        v = contracts["insee_populations_legales"].latest
        put("insee_populations_legales", v.vintage, populations(con, tmp, v.geography))
        for v in contracts["agreste_recensement_agricole"].vintages:
            put("agreste_recensement_agricole", v.vintage, agreste(con, tmp, v.vintage, v.geography))
        for v in contracts["insee_salaires_commune"].vintages:
            put("insee_salaires_commune", v.vintage, salaires(con, tmp, v.vintage, v.geography))
    books = membership_books(con, 2026)
    put("insee_epci", 2026, books["epci"])
    put("insee_aav2020", 2026, books["aav"])
    put("insee_grille_densite", 2025, density_grid(con, 2025))
    put("etalab_contours_communes", 2026, contours(con, 2026))
    return written
