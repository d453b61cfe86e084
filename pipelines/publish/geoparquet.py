"""territories_geo: one simplified boundary per territory, written as GeoParquet 1.1."""

from __future__ import annotations

from pathlib import Path

import duckdb
import geopandas
import shapely

SIMPLIFY_TOLERANCE_DEGREES = 0.001  # about 80 to 110 m in mainland France


def export_territories_geo(con: duckdb.DuckDBPyConnection, model: str, target: Path) -> list[dict]:
    """Dissolve the member communes of each territory, simplify, write GeoParquet 1.1; return the columns."""
    frame = con.execute(
        f"SELECT level, code, name, population, geometry_wkb FROM {model} ORDER BY level, code, commune_code"
    ).fetchdf()
    frame["geometry"] = geopandas.GeoSeries.from_wkb(frame.pop("geometry_wkb").map(bytes), crs="EPSG:4326")
    members = geopandas.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    territories = members.dissolve(by=["level", "code"], aggfunc={"name": "first", "population": "first"}, sort=True)
    territories = territories.reset_index()[["level", "code", "name", "population", "geometry"]]
    simplified = territories.geometry.simplify(SIMPLIFY_TOLERANCE_DEGREES, preserve_topology=True)
    territories["geometry"] = shapely.make_valid(simplified.values)
    territories.to_parquet(target, index=False, compression="zstd", schema_version="1.1.0", write_covering_bbox=True)
    import pyarrow.parquet as pq

    return [{"name": f.name, "type": str(f.type)} for f in pq.read_schema(target)]
