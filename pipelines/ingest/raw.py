"""Raw layer: fetch every vintage of a source, parse it, write one Parquet file per source.

Next to `<source>.parquet` goes `<source>.provenance.json` (URL, sha256, rows per vintage) that
the publish step copies into the release manifest.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from ..files import write_json_atomically, write_parquet_atomically
from .contracts import Contract, Vintage
from .fetch import FetchSettings, fetch
from .parse import parse_file
from .passage import ANY_VINTAGE, events_from_mouvements, passage_table

PASSAGE_ID = "commune_passage"
CENTROIDS_ID = "commune_centroids"
CONTOURS_ID = "etalab_contours_communes"


def materialise_source(contract: Contract, settings: FetchSettings, out_dir: Path) -> dict:
    """Fetch and parse all vintages of one source into `out_dir`; return its provenance record.
    Each vintage is parsed and written on its own, then the parts are streamed into one file: one
    vintage in memory at a time (five censuses of ten million pairs would not fit a small machine)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{contract.id}.") as parts_dir:
        vintages = [parse_vintage(contract, vintage, settings, Path(parts_dir) / f"{vintage.vintage}.parquet")
                    for vintage in sorted(contract.vintages, key=lambda v: v.vintage)]
        parts = [pl.scan_parquet(Path(parts_dir) / f"{v['vintage']}.parquet") for v in vintages]
        write_parquet_atomically(pl.concat(parts, how="diagonal_relaxed"), out_dir / f"{contract.id}.parquet")
    provenance = {
        "source_id": contract.id,
        "title": contract.title,
        "producer": contract.producer,
        "licence": contract.licence,
        "landing_page": contract.landing_page,
        "rows": sum(v["rows"] for v in vintages),
        "vintages": vintages,
    }
    write_json_atomically(provenance, out_dir / f"{contract.id}.provenance.json")
    return provenance


def parse_vintage(contract: Contract, vintage: Vintage, settings: FetchSettings, part: Path) -> dict:
    """Fetch and parse one vintage into `part` (its rows in file order); return its provenance."""
    fetched = fetch(vintage.url, contract.id, settings)
    frame = parse_file(contract, vintage, fetched.path, max_bytes=settings.max_uncompressed_bytes)
    frame.sort("source_row", maintain_order=True).write_parquet(part)
    return {
        "vintage": vintage.vintage,
        "geography": vintage.geography,
        "url": vintage.url,
        "fetched_from": "mirror" if fetched.url != vintage.url else "official",
        "sha256": fetched.sha256,
        "bytes": fetched.size,
        "rows": frame.height,
        "retrieved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def materialise_passage(contracts: dict[str, Contract], target: int, out_dir: Path) -> dict:
    """Build the passage to COG `target` from the raw change history and populations in `out_dir`."""
    mouvements = pl.read_parquet(out_dir / "insee_cog_mouvements.parquet")
    mouvements = mouvements.filter(pl.col("vintage") == mouvements["vintage"].max())
    populations = pl.read_parquet(out_dir / "insee_populations_legales.parquet").filter(
        pl.col("municipal_population").str.contains(r"^\d+$")
    )
    population = {
        populations_commune_code(dep, number): float(pop)
        for dep, number, pop in populations.select("departement_code", "commune_number", "municipal_population").iter_rows()
    }
    geographies = sorted({v.geography for c in contracts.values() for v in c.vintages} | {ANY_VINTAGE})
    table = passage_table(events_from_mouvements(mouvements), geographies, target, population)
    write_parquet_atomically(table, out_dir / f"{PASSAGE_ID}.parquet")
    return {"target_cog": target, "rows": table.height, "geographies": geographies}


def populations_commune_code(departement: str, number: str) -> str:
    """The commune code from the populations légales' DEP and CODCOM (as staging builds it):
    01 + 001, 2A + 004; overseas either 971 + 01 or 971 (97) + 101, all giving 97101."""
    departement, number = departement.strip().upper(), number.strip()
    if len(departement) == 3 and len(number) == 2:
        return departement + number
    return departement[:2] + number


def materialise_centroids(out_dir: Path) -> dict:
    """Centroid (longitude, latitude, EPSG:4326) of each commune of the latest boundaries.

    Distances are optional: without boundaries the table is empty and distances are null.
    """
    import shapely

    schema = {"commune_code": pl.String, "longitude": pl.Float64, "latitude": pl.Float64}
    contours_path = out_dir / f"{CONTOURS_ID}.parquet"
    if not contours_path.exists():
        frame = pl.DataFrame(schema=schema)
    else:
        contours = pl.read_parquet(contours_path)
        contours = contours.filter(pl.col("vintage") == contours["vintage"].max(), pl.col("geometry_wkb").is_not_null())
        centroids = shapely.centroid(shapely.from_wkb(contours["geometry_wkb"].to_list()))
        frame = pl.DataFrame({
            "commune_code": contours["commune_code"],
            "longitude": shapely.get_x(centroids).round(6),
            "latitude": shapely.get_y(centroids).round(6),
        }, schema=schema)
    write_parquet_atomically(frame, out_dir / f"{CENTROIDS_ID}.parquet")
    return {"communes": frame.height}
