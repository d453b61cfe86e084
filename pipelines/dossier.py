"""`flows dossier A B`: the evidence on two territories, as one self-contained French HTML page.

It reads only a published release (a local directory or an HTTP base, following latest.json, or
one release directory), so it works on anyone's published copy. Every figure carries its raw value
in `data-value` (the page shows it rounded, in French), so that a reader, or a test, can check it
against the release.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import jinja2

from .sql import sql_string

TEMPLATES = Path(__file__).parent / "templates"
METHODS = {"commuters": "observé", "housing_land_for_jobs": "alloué", "electricity_transfer": "modélisé"}
STATUS = {"complete": "complet", "published": "publié (exact)", "lower_bound": "minorant",
          "below_publication_threshold": "non publié (sous le seuil)"}


class DossierError(ValueError):
    """A territory, a level or a release that the dossier cannot use."""


@dataclass
class Release:
    base: str  # directory or URL of the release (holding manifest.json and the tables)
    manifest: dict
    con: duckdb.DuckDBPyConnection

    def table(self, name: str) -> str:
        return sql_string(f"{self.base}/{name}.parquet")

    def rows(self, sql: str, *params) -> list[dict]:
        relation = self.con.execute(sql, list(params))
        names = [d[0] for d in relation.description]
        return [dict(zip(names, row)) for row in relation.fetchall()]


def read_text(location: str) -> str:
    if "://" in location:
        with urllib.request.urlopen(location, timeout=30) as response:
            return response.read().decode("utf-8")
    return Path(location).read_text(encoding="utf-8")


def open_release(location: str | Path) -> Release:
    """A published directory or HTTP base (following latest.json), or one release directory."""
    location = str(location).rstrip("/")
    try:
        manifest = json.loads(read_text(f"{location}/manifest.json"))
        base = location
    except (OSError, ValueError):
        try:
            pointer = json.loads(read_text(f"{location}/latest.json"))
        except (OSError, ValueError) as exc:
            raise DossierError(f"{location} is neither a release (manifest.json) nor a published directory "
                               f"(latest.json): {exc}") from None
        base = f"{location}/{pointer['path']}"
        manifest = json.loads(read_text(f"{base}/manifest.json"))
    con = duckdb.connect()
    if "://" in base:
        from .remote import duckdb_with_httpfs

        con = duckdb_with_httpfs()
    return Release(base, manifest, con)


def territory(release: Release, code: str, level: str | None) -> dict:
    found = release.rows(f"SELECT * FROM {release.table('territories')} WHERE code = ?"
                         + (" AND level = ?" if level else "") + " ORDER BY level", code, *([level] if level else []))
    if not found:
        raise DossierError(f"no territory {code!r}" + (f" at level {level}" if level else "") + " in release "
                           f"{release.manifest['release_id']}")
    if len(found) > 1:
        raise DossierError(f"code {code!r} names territories at levels {', '.join(t['level'] for t in found)}: "
                           "choose one with --level")
    return found[0]


def figure(value, year=None, status=None, unit="", digits=1) -> dict:
    """A figure as printed: French number, or « inconnu » for null (never 0)."""
    if value is None:
        text = "inconnu"
    else:
        text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return {"value": "" if value is None else repr(float(value)), "text": text, "unit": unit, "year": year,
            "status": STATUS.get(status, status)}


def dossier_data(release: Release, code_a: str, code_b: str, level: str | None = None) -> dict:
    a = territory(release, code_a, level)
    b = territory(release, code_b, level or a["level"])
    if a["level"] != b["level"]:
        raise DossierError(f"{code_a} is a {a['level']} and {code_b} a {b['level']}: give --level")
    latest = release.rows(f"SELECT * FROM {release.table('interdependencies_latest')} "
                          "WHERE level = ? AND code_a = ? AND code_b = ?", a["level"], code_a, code_b)
    years = release.rows(f"SELECT * FROM {release.table('interdependencies')} "
                         "WHERE level = ? AND code_a = ? AND code_b = ? ORDER BY year", a["level"], code_a, code_b)
    pair = latest[0] if latest else {}
    return {
        "release_id": release.manifest["release_id"],
        "a": a, "b": b,
        "map": pair_map(release, a, b) if "territories_geo" in release.manifest["tables"] else None,
        "latest": pair and [
            {"kind": "Navetteurs (actifs occupés)", "method": METHODS["commuters"], "year": pair["commuters_year"],
             "a_to_b": figure(pair["workers_a_to_b"], pair["commuters_year"], pair["workers_a_to_b_status"], "actifs"),
             "b_to_a": figure(pair["workers_b_to_a"], pair["commuters_year"], pair["workers_b_to_a_status"], "actifs"),
             "names": ("workers_a_to_b", "workers_b_to_a")},
            {"kind": "Foncier résidentiel lié aux emplois", "method": METHODS["housing_land_for_jobs"],
             "year": pair["housing_land_year"],
             "a_to_b": figure(pair["housing_land_a_for_jobs_in_b_ha"], pair["housing_land_year"], unit="ha", digits=3),
             "b_to_a": figure(pair["housing_land_b_for_jobs_in_a_ha"], pair["housing_land_year"], unit="ha", digits=3),
             "names": ("housing_land_a_for_jobs_in_b_ha", "housing_land_b_for_jobs_in_a_ha")},
            {"kind": "Électricité (surplus couvrant un déficit)", "method": METHODS["electricity_transfer"],
             "year": pair["electricity_year"],
             "a_to_b": figure(pair["electricity_from_a_surplus_to_b_mwh"], pair["electricity_year"], unit="MWh"),
             "b_to_a": figure(pair["electricity_from_b_surplus_to_a_mwh"], pair["electricity_year"], unit="MWh"),
             "names": ("electricity_from_a_surplus_to_b_mwh", "electricity_from_b_surplus_to_a_mwh")},
        ],
        "years": [{"year": y["year"],
                   "a_to_b": figure(y["workers_a_to_b"], y["year"], y["workers_a_to_b_status"], "actifs"),
                   "b_to_a": figure(y["workers_b_to_a"], y["year"], y["workers_b_to_a_status"], "actifs"),
                   "share_a": figure(y["share_of_a_workers_employed_in_b_pct"], y["year"], unit="%"),
                   "share_b": figure(y["share_of_b_workers_employed_in_a_pct"], y["year"], unit="%")} for y in years],
        "sources": release.manifest["sources"],
        "tables": release.manifest["tables"],
        "set_aside": [e for e in release.manifest.get("set_aside") or [] if e["rows_set_aside"]],
    }


def render(data: dict) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template("dossier.html.j2").render(**data)


def write_dossier(location: str | Path, code_a: str, code_b: str, out: Path, level: str | None = None,
                  workbook: Path | None = None) -> Path:
    release = open_release(location)
    data = dossier_data(release, code_a, code_b, level)
    out.write_text(render(data), encoding="utf-8")
    if workbook:
        write_workbook(data, workbook)
    return out


def write_workbook(data: dict, path: Path) -> Path:
    """The dossier's figures as a workbook: French headers, names next to codes, rounded values,
    « inconnu » where the release has no value, one sheet per subject and a sources sheet."""
    import openpyxl

    def cell(fig: dict, digits: int):
        return round(float(fig["value"]), digits) if fig["value"] else "inconnu"

    a, b = data["a"], data["b"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Territoires"
    sheet.append(["", "Territoire A", "Territoire B"])
    for label, key in (("Nom", "name"), ("Code", "code"), ("Niveau", "level"), ("Population municipale", "population")):
        sheet.append([label, a[key], b[key]])
    sheet = book.create_sheet("Dernière année")
    sheet.append(["Flux", "Méthode", "Année", f"De {a['name']} vers {b['name']}", f"De {b['name']} vers {a['name']}", "Unité"])
    for row in data["latest"] or []:
        digits = 3 if row["a_to_b"]["unit"] == "ha" else 1
        sheet.append([row["kind"], row["method"], row["year"], cell(row["a_to_b"], digits), cell(row["b_to_a"], digits),
                      row["a_to_b"]["unit"]])
    sheet = book.create_sheet("Navetteurs")
    sheet.append(["Année", f"Actifs de {a['name']} travaillant à {b['name']}", "Statut",
                  f"Part des actifs de {a['name']} (%)", f"Actifs de {b['name']} travaillant à {a['name']}", "Statut",
                  f"Part des actifs de {b['name']} (%)"])
    for y in data["years"]:
        sheet.append([y["year"], cell(y["a_to_b"], 1), y["a_to_b"]["status"], cell(y["share_a"], 2),
                      cell(y["b_to_a"], 1), y["b_to_a"]["status"], cell(y["share_b"], 2)])
    sheet = book.create_sheet("Sources")
    sheet.append(["Publication", data["release_id"]])
    sheet.append(["Source", "Producteur", "Millésimes", "Licence", "Page du producteur"])
    for s in data["sources"]:
        sheet.append([s["title"], s["producer"], ", ".join(str(v["vintage"]) for v in s["vintages"]), s["licence"],
                      s["landing_page"]])
    book.save(path)
    return path


SIDE_COLOURS = {"a": "#6a6af4", "b": "#e18b63"}
NICE_KM = (1, 2, 5, 10, 20, 50, 100, 200, 500)
KM_PER_DEGREE = 111.32  # a degree of latitude


def pair_map(release: Release, a: dict, b: dict, links: int = 10) -> str | None:
    """Inline SVG: the communes of A and B (or the two territories), the largest commune-to-commune
    commuting links between them as lines whose width follows the flow, a scale bar and the north.
    Shapes come from territories_geo through shapely; the projection is equirectangular around the
    pair's latitude (fine at this scale)."""
    import math

    import shapely
    from shapely import affinity

    sides = {a["code"]: "a", b["code"]: "b"}
    if a["level"] == "epci":
        members = release.rows(f"SELECT code, epci_code FROM {release.table('territories')} "
                               "WHERE level = 'commune' AND epci_code IN (?, ?)", a["code"], b["code"])
        side_of = {m["code"]: sides[m["epci_code"]] for m in members}
        level = "commune"
    else:
        side_of, level = sides, a["level"]
    if not side_of:
        return None
    codes = list(side_of)
    shapes = release.rows(f"SELECT code, ST_AsWKB(geometry) AS wkb FROM {release.table('territories_geo')} "
                          f"WHERE level = ? AND code IN ({', '.join('?' * len(codes))})", level, *codes)
    if not shapes:
        return None
    geometries = {s["code"]: shapely.from_wkb(bytes(s["wkb"])) for s in shapes}
    xmin, ymin, xmax, ymax = shapely.GeometryCollection(list(geometries.values())).bounds
    kx = math.cos(math.radians((ymin + ymax) / 2))
    k = 1000 / max((xmax - xmin) * kx, ymax - ymin, 1e-9)  # about 1,000 drawing units across

    def project(geometry):
        return affinity.scale(geometry, xfact=kx * k, yfact=-k, origin=(0, 0))

    projected = {code: project(g) for code, g in geometries.items()}
    px0, py0, px1, py1 = shapely.GeometryCollection(list(projected.values())).bounds
    pad = 0.08 * max(px1 - px0, py1 - py0)
    parts = [g.svg(scale_factor=0.5, fill_color=SIDE_COLOURS[side_of[code]]).replace("<path ", f'<path data-code="{code}" ', 1)
             for code, g in sorted(projected.items())]
    if level == "commune":
        flows = release.rows(
            f"""SELECT origin_code, destination_code, workers FROM {release.table('commuting_flows')}
                WHERE level = 'commune' AND workers > 0 AND origin_code <> destination_code
                  AND year = (SELECT max(year) FROM {release.table('commuting_flows')})
                  AND origin_code IN ({', '.join('?' * len(codes))}) AND destination_code IN ({', '.join('?' * len(codes))})
                ORDER BY workers DESC, origin_code, destination_code""", *codes, *codes)
        between = [f for f in flows if side_of[f["origin_code"]] != side_of[f["destination_code"]]
                   and f["origin_code"] in projected and f["destination_code"] in projected][:links]
        largest = max((f["workers"] for f in between), default=1)
        for f in between:
            line = shapely.LineString([projected[f["origin_code"]].centroid, projected[f["destination_code"]].centroid])
            parts.append(line.svg(scale_factor=1 + 6 * f["workers"] / largest, stroke_color="#161616")
                         .replace("<polyline ", f'<polyline data-link="{f["origin_code"]}-{f["destination_code"]}" '
                                               f'data-workers="{f["workers"]!r}" opacity="0.7" ', 1))
    units_per_km = k / KM_PER_DEGREE
    km = next((n for n in NICE_KM if n * units_per_km >= (px1 - px0) / 6), NICE_KM[-1])
    x, y = px0, py1 + pad * 0.6
    parts.append(f'<g class="echelle"><line x1="{x:.1f}" y1="{y:.1f}" x2="{x + km * units_per_km:.1f}" y2="{y:.1f}" '
                 f'stroke="#000" stroke-width="4"/><text x="{x:.1f}" y="{y - 8:.1f}" font-size="28">{km} km</text></g>')
    parts.append(f'<g class="nord"><text x="{px1:.1f}" y="{py0 + 10:.1f}" font-size="40" text-anchor="end">N ↑</text></g>')
    view = f"{px0 - pad:.1f} {py0 - pad:.1f} {px1 - px0 + 2 * pad:.1f} {py1 - py0 + 2 * pad:.1f}"
    return (f'<svg viewBox="{view}" role="img" '
            f'aria-label="Carte de {a["name"]} et {b["name"]}">' + "".join(parts) + "</svg>")
