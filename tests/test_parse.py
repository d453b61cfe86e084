"""Parsers on the fixture mirror (the producers' formats) and on broken variants of them."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import polars as pl
import pytest

from pipelines.ingest.contracts import load_contracts
from pipelines.ingest.fetch import mirror_location
from pipelines.ingest.parse import SourceFormatError, parse_file

from .conftest import MIRROR, rewrite_csv_member

CONTRACTS = load_contracts()


def fixture_path(source_id, vintage):
    from pathlib import Path

    return Path(mirror_location(str(MIRROR), CONTRACTS[source_id].vintage(vintage).url))


@pytest.mark.parametrize("source_id,vintage", [(c.id, v.vintage) for c in CONTRACTS.values() for v in c.vintages])
def test_every_contract_reads_its_fixture(source_id, vintage):
    contract = CONTRACTS[source_id]
    frame = parse_file(contract, contract.vintage(vintage), fixture_path(source_id, vintage))
    assert frame.height > 0
    assert {c.name for c in contract.columns} <= set(frame.columns)
    fmt = contract.vintage(vintage).format
    assert frame["source_row"].min() == (1 if fmt.kind == "geojson" else fmt.header_row + 1)


def test_templated_census_header_is_renamed_and_codes_stay_text():
    contract = CONTRACTS["insee_mobpro_flux"]
    frame = parse_file(contract, contract.vintage(2021), fixture_path("insee_mobpro_flux", 2021))
    assert "workers" in frame.columns and frame["residence_code"].dtype == pl.String
    assert "2A004" in frame["residence_code"].to_list() and "01001" in frame["residence_code"].to_list()
    assert "75101" in frame["residence_code"].to_list()  # arrondissements are folded later, in staging


def test_per_year_columns_become_rows():
    contract = CONTRACTS["cerema_enaf"]
    frame = parse_file(contract, contract.latest, fixture_path("cerema_enaf", contract.latest.vintage))
    assert sorted(frame["year"].unique().to_list()) == list(range(2009, 2024))
    row = frame.filter((frame["commune_code"] == "01001") & (frame["year"] == 2015)).row(0, named=True)
    uses = ["activity_m2", "housing_m2", "mixed_m2", "road_m2", "rail_m2", "unknown_m2"]
    assert sum(float(row[u]) for u in uses) == float(row["total_m2"])


def test_agricultural_census_long_table_keeps_subtotals_and_secret_cells_as_text():
    """Disar's G_1013: one text member per census in the zip, France, région and département
    subtotals with twelve dots in the finer code columns, sub-groups prefixed with "_", accented
    UTF-8 labels (one with a double space) and empty secret cells; staging picks the rows it sums."""
    contract = CONTRACTS["agreste_recensement_agricole"]
    frame = parse_file(contract, contract.vintage(2010), fixture_path("agreste_recensement_agricole", 2010))
    assert frame["source_file"][0].endswith("FDS_G_1013.zip!FDS_G_1013_2010.txt")
    dots = "." * 12
    assert frame.filter(pl.col("region_code") == dots).height > 0  # France
    assert frame.filter((pl.col("region_code") == "NR84") & (pl.col("departement_code") == dots)).height > 0
    commune = frame.filter((pl.col("commune_code") == "01453") & pl.col("measure").str.contains("hectares")
                           & (pl.col("size_class") == "Ensemble des exploitations (hors pacages collectifs)"))
    assert dict(zip(commune["crop"], commune["value"])) == {
        "Fourrages et superficies toujours en herbe": "1800", "Céréales": None}  # the secret cell
    assert "Oléagineux, protéagineux, plantes à fibres  (Total)" in frame["crop"].to_list()
    assert frame["crop"].str.starts_with("_").any() and frame["duplicate_of_row"].null_count() == frame.height


def test_commune_wages_keep_the_year_of_their_header_and_unpublished_cells():
    """INSEE's base communale of wages: a base-cc zip with an upper-case `.CSV` member and a metadata
    member, SNHM{yy} named after the year, whole communes (Paris 75056), an empty unpublished cell."""
    contract = CONTRACTS["insee_salaires_commune"]
    frame = parse_file(contract, contract.vintage(2022), fixture_path("insee_salaires_commune", 2022))
    assert frame["source_file"][0].endswith("base-cc-salaires-2022_csv.zip!base-cc-salaires-2022.CSV")
    wages = dict(zip(frame["commune_code"], frame["mean_net_hourly_wage"]))
    assert wages["75056"] == "24.36" and wages["2A004"] == "16.21" and wages["01001"] is None
    assert "75101" not in wages and "01453" not in wages  # no arrondissement; a small commune has no row
    other_year = parse_file(contract, contract.vintage(2021), fixture_path("insee_salaires_commune", 2021))
    assert other_year["mean_net_hourly_wage"].drop_nulls().len() == 8  # SNHM21 read, not SNHM22


def test_decimal_commas_are_normalised():
    contract = CONTRACTS["odre_registre_production"]
    raw = fixture_path("odre_registre_production", 2023).read_text()
    assert "," in raw.splitlines()[1].split(";")[16]  # the fixture really has decimal commas
    frame = parse_file(contract, contract.vintage(2023), fixture_path("odre_registre_production", 2023))
    assert all("," not in v for v in frame["max_power_kw"].to_list())
    assert all(float(v) > 0 for v in frame["max_power_kw"].to_list())


def test_xlsx_header_below_title_lines():
    contract = CONTRACTS["insee_epci"]
    frame = parse_file(contract, contract.latest, fixture_path("insee_epci", 2026))
    assert frame["epci_code"].str.len_chars().unique().to_list() == [9]
    assert frame["source_row"].min() == 7


def test_missing_column_names_source_file_and_columns(tmp_path):
    contract = CONTRACTS["insee_mobpro_flux"]
    vintage = contract.vintage(2022)
    renamed = rewrite_csv_member(fixture_path("insee_mobpro_flux", 2022),
                                 lambda text: text.replace("NBFLUX_C22_ACTOCC15P", "NBFLUX_C22_ACTOCC"), tmp_path / "flux.zip")
    with zipfile.ZipFile(renamed) as z:
        (name,) = z.namelist()
    with pytest.raises(SourceFormatError) as error:
        parse_file(contract, vintage, renamed)
    message = str(error.value)
    assert "insee_mobpro_flux" in message and name in message
    assert "NBFLUX_C22_ACTOCC15P" in message and "NBFLUX_C22_ACTOCC" in message


def test_latin1_where_utf8_expected_names_the_line(tmp_path):
    contract = CONTRACTS["insee_cog_regions"]
    latin = tmp_path / "v_region_2026.csv"
    latin.write_bytes(fixture_path("insee_cog_regions", 2026).read_text().encode("latin-1"))
    with pytest.raises(SourceFormatError, match=r"line \d+ is not valid utf-8"):
        parse_file(contract, contract.latest, latin)


def test_declared_latin1_is_decoded(tmp_path):
    contract = CONTRACTS["insee_cog_regions"]
    latin = tmp_path / "v_region_2026.csv"
    latin.write_bytes(fixture_path("insee_cog_regions", 2026).read_text().encode("latin-1"))
    vintage = dataclasses.replace(contract.latest, format=dataclasses.replace(contract.latest.format, encoding="latin-1"))
    assert "Île-de-France" in parse_file(contract, vintage, latin)["region_name"].to_list()


def test_utf8_bom_is_ignored(tmp_path):
    contract = CONTRACTS["insee_cog_regions"]
    bom = tmp_path / "v_region_2026.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + fixture_path("insee_cog_regions", 2026).read_bytes())
    assert parse_file(contract, contract.latest, bom)["region_code"].to_list()[0] == "11"
