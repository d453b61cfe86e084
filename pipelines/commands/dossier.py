"""`flows dossier`: the evidence on two territories, as one self-contained French HTML page.

Two territories of one level (`flows dossier A B`), or the perimeter of a contract against the rest
of its surroundings (`flows dossier --group FILE`). It reads only a published release (a local
directory or an HTTP base, following latest.json, or one release directory), so it works on
anyone's published copy. Every figure carries its raw value in `data-value` (the page shows it
rounded, in French), so that a reader, or a test, can check it against the release.

In pair mode every figure is read from the release as published. In perimeter mode the flows are
the sums of the published commune-to-commune flows between the two sides, and the shares are
computed from the published commune totals with the release's rule (an exact flow over a
complete total, docs/methods.md); the page says so.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import jinja2

from ..parameters import model_parameter_defaults
from ..sql import sql_string

TEMPLATES = Path(__file__).parent / "templates"
STATUS = {"complete": "complet", "published": "publié (exact)", "lower_bound": "minorant",
          "below_publication_threshold": "non publié (sous le seuil)"}
METHOD_LABELS = {"observed": "observé", "allocated": "alloué", "modelled": "modélisé"}
DENSITY_CLASSES = (("urbain", (1, 2)), ("intermédiaire", (3, 4)), ("rural", (5, 6, 7)))
SURROUNDINGS = {"departement": ("departement_code", "du département"), "region": ("region_code", "de la région"),
                "epci": ("epci_code", "des EPCI")}


@dataclass(frozen=True)
class FlowKind:
    kind: str  # flow_kind in material_flows
    title: str
    method: str  # observed | allocated | modelled
    unit: str
    digits: int
    latest_columns: tuple[str, str]  # its A->B and B->A columns in interdependencies_latest
    latest_year_column: str
    caveat: str
    transfer: bool = False  # a modelled surplus-to-deficit transfer within a perimeter (int_modelled_transfers)

    def caveat_text(self, parameters: dict[str, str]) -> str:
        """The caveat with the model parameters it names (caveat_parameters) filled in."""
        return self.caveat.format(**parameters)

    def sentence(self, year, a: str, b: str, ab: dict, ba: dict) -> str:
        """The latest figure and its direction in words, without judging it."""
        return SENTENCES[self.kind].format(year=year, a=a, b=b, ab=text_with_unit(ab), ba=text_with_unit(ba))


FLOW_KINDS = (
    FlowKind("commuters", "Navetteurs domicile-travail", "observed", "actifs", 0,
             ("workers_a_to_b", "workers_b_to_a"), "commuters_year",
             "Recensement de la population (Insee) : effectifs pondérés par sondage, à arrondir ; l'Insee recommande "
             "la prudence sous 200 actifs. Une édition tronquée ne publie pas les petits flux : ses sommes sont des "
             "minorants et un flux non publié est inconnu, pas nul."),
    FlowKind("housing_land_for_jobs", "Foncier résidentiel lié aux emplois", "allocated", "ha", 2,
             ("housing_land_a_for_jobs_in_b_ha", "housing_land_b_for_jobs_in_a_ha"), "housing_land_year",
             "Allocation : la consommation d'espaces pour l'habitat (fichiers fonciers, Cerema) d'un territoire est "
             "répartie selon le lieu de travail de ses actifs. Le logement sert tous les habitants, pas seulement les "
             "actifs : c'est une clé de lecture, pas une part causale."),
    FlowKind("electricity_transfer", "Électricité : surplus couvrant un déficit", "modelled", "MWh", 0,
             ("electricity_from_a_surplus_to_b_mwh", "electricity_from_b_surplus_to_a_mwh"), "electricity_year",
             "Convention comptable, pas un flux physique : le surplus de production d'un territoire est réparti entre "
             "les territoires en déficit du même périmètre (l'EPCI pour des communes, la région au-delà), au prorata. "
             "Le modèle ignore le réseau, l'heure, le stockage et les échanges entre périmètres ; à un niveau plus "
             "agrégé les surplus et déficits internes "
             "se compensent d'abord.", transfer=True),
    FlowKind("food_land", "Terres agricoles : surplus couvrant des besoins alimentaires", "modelled", "ha", 0,
             ("food_land_from_a_surplus_to_b_ha", "food_land_from_b_surplus_to_a_ha"), "food_land_year",
             "Convention comptable, pas un flux de denrées : la surface agricole d'un territoire (recensement "
             "agricole, comptée au siège des exploitations) au-delà de ce qu'il faut pour nourrir ses habitants "
             "(paramètre par habitant) est répartie entre les territoires en déficit du même périmètre, au prorata. "
             "Elle ne dit pas où vont les produits : ils partent souvent loin, à l'export ou à l'industrie.",
             transfer=True),
    FlowKind("wage_income", "Salaires rapportés au domicile par les navetteurs", "modelled", "€", 0,
             ("wages_paid_in_a_to_b_residents_eur", "wages_paid_in_b_to_a_residents_eur"), "wage_year",
             "Estimation, pas une masse salariale observée : navetteurs du recensement le plus proche multipliés "
             "par le salaire net horaire moyen des salariés du privé de leur commune de résidence (Insee, Base "
             "Tous salariés ; celui du département quand la commune n'est pas publiée) et par une année à temps "
             "plein ({paid_hours} heures payées). Temps partiel, fonction publique et indépendants ne sont pas distingués : "
             "un ordre de grandeur de l'argent qui rentre au domicile, pas un revenu des ménages."),
)
SENTENCES = {
    "commuters": "En {year}, {ab} résidant à {a} travaillent à {b} ; {ba} font le trajet inverse.",
    "housing_land_for_jobs": "En {year}, {ab} de foncier consommé pour l'habitat à {a} sont attribués aux emplois "
                             "de {b} ; {ba} dans l'autre sens.",
    "electricity_transfer": "En {year}, le modèle attribue {ab} du surplus d'électricité de {a} à la couverture du "
                            "déficit de {b} ; {ba} dans l'autre sens.",
    "food_land": "Au recensement agricole de {year}, le modèle attribue {ab} de terres agricoles en surplus de {a} aux "
                 "besoins alimentaires des habitants de {b} ; {ba} dans l'autre sens.",
    "wage_income": "En {year}, le modèle estime à {ab} les salaires nets versés par les emplois de {a} à des "
                   "habitants de {b} ; {ba} dans l'autre sens.",
}


class DossierError(ValueError):
    """A territory, a level, a perimeter file or a release that the dossier cannot use. `french`:
    the reason as the index page of a batch of dossiers tells it to its readers."""

    def __init__(self, message: str, french: str | None = None):
        super().__init__(message)
        self.french = french or message


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

    def cover_kind_years(self, level: str) -> None:
        """Temp table kind_years: the years each flow kind covers at `level`, and whether every row of
        the year is complete (false for a truncated census edition). One scan of the ledger per level
        for all the dossiers written from this release."""
        self.con.execute("CREATE TEMP TABLE IF NOT EXISTS kind_years (level VARCHAR, flow_kind VARCHAR, year INTEGER, "
                         "complete BOOLEAN)")
        if not self.con.execute("SELECT count(*) FROM kind_years WHERE level = ?", [level]).fetchone()[0]:
            self.con.execute(f"INSERT INTO kind_years SELECT level, flow_kind, year, bool_and(value_status = 'complete') "
                             f"FROM {self.table('material_flows')} WHERE level = ? GROUP BY ALL", [level])


@dataclass
class Side:
    """One side of the dossier: a territory of the release, or a set of communes (perimeter mode)."""
    code: str
    name: str
    level: str  # commune, epci, group... or "périmètre" / "alentours"
    population: float | None
    communes: list[str] = field(default_factory=list)  # its communes, where the release tells them
    attributes: dict = field(default_factory=dict)


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


# --- the two sides -----------------------------------------------------------------------------

def territory(release: Release, code: str, level: str | None) -> Side:
    found = release.rows(f"SELECT * FROM {release.table('territories')} WHERE code = ?"
                         + (" AND level = ?" if level else "") + " ORDER BY level", code, *([level] if level else []))
    if not found:
        release_id = release.manifest["release_id"]
        raise DossierError(f"no territory {code!r}" + (f" at level {level}" if level else "") + f" in release {release_id}",
                           f"aucun territoire de code {code}" + (f" au niveau {level}" if level else "")
                           + f" dans la publication {release_id}")
    if len(found) > 1:
        levels = ", ".join(t["level"] for t in found)
        raise DossierError(f"code {code!r} names territories at levels {levels}: choose one with --level",
                           f"le code {code} désigne des territoires de plusieurs niveaux ({levels}) : "
                           "préciser le niveau dans la colonne level")
    row = found[0]
    return Side(code, row["name"], row["level"], row["population"], member_communes(release, row), row)


def member_communes(release: Release, territory_row: dict) -> list[str]:
    """A commune's own code, an EPCI's communes; [] where the release does not say (other levels)."""
    if territory_row["level"] == "commune":
        return [territory_row["code"]]
    if territory_row["level"] != "epci":
        return []
    return [r["code"] for r in release.rows(f"SELECT code FROM {release.table('territories')} "
                                            "WHERE level = 'commune' AND epci_code = ? ORDER BY code", territory_row["code"])]


def read_perimeter(path: Path, group_id: str | None) -> tuple[str, str, list[tuple[int, str]]]:
    """(id, name, [(line, commune code)]) of one group of a FLOWS_GROUPS-format file."""
    from ..ingest.groups import GROUP_COLUMNS, normalised_commune_code

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DossierError(f"perimeter file {path} is unreadable: {exc}") from None
    missing = set(GROUP_COLUMNS) - set(rows[0] if rows else {})
    if missing:
        raise DossierError(f"perimeter file {path} lacks columns {sorted(missing)} (group_id,group_name,commune_code)")
    ids = list(dict.fromkeys(r["group_id"].strip() for r in rows))
    if group_id is None and len(ids) > 1:
        raise DossierError(f"perimeter file {path} holds groups {', '.join(ids)}: name one after --group FILE")
    chosen = group_id or ids[0]
    members = [(line, r) for line, r in enumerate(rows, start=2) if r["group_id"].strip() == chosen]
    if not members:
        raise DossierError(f"perimeter file {path} has no group {chosen!r}; it has {', '.join(ids)}")
    codes = [(line, normalised_commune_code(r["commune_code"])) for line, r in members]
    return chosen, members[0][1]["group_name"].strip() or chosen, codes


def perimeter_sides(release: Release, path: Path, group_id: str | None, surroundings: str) -> tuple[Side, Side]:
    """The perimeter's communes, and the other communes of the départements (régions, EPCI) it touches."""
    chosen, name, numbered = read_perimeter(path, group_id)
    communes = {r["code"]: r for r in release.rows(f"SELECT * FROM {release.table('territories')} WHERE level = 'commune'")}
    unknown = [f"{code} (line {line})" for line, code in numbered if code not in communes]
    if unknown:
        raise DossierError(
            f"perimeter file {path}, column commune_code: {', '.join(unknown[:20])} not communes of release "
            f"{release.manifest['release_id']} (COG {release.manifest['settings'].get('target_cog')}); a commune that "
            "has merged since counts under its successor's code: write that one")
    inside = sorted({code for _, code in numbered})
    column, wording = SURROUNDINGS[surroundings]
    parents = sorted({communes[c][column] for c in inside if communes[c][column]})
    outside = sorted(c for c, r in communes.items() if r[column] in parents and c not in set(inside))
    if not outside:
        raise DossierError(f"no commune of the release lies around perimeter {chosen} within its {surroundings}s "
                           f"({', '.join(parents)}): try --surroundings region")
    names = {r["code"]: r["name"] for r in release.rows(f"SELECT code, name FROM {release.table('territories')} "
                                                      "WHERE level = ?", surroundings)}
    parent_names = ", ".join(f"{names.get(p, p)} ({p})" for p in parents)
    a = Side(chosen, name, "périmètre", summed_population(communes, inside), inside)
    b = Side(f"reste:{surroundings}", f"Reste {wording} {parent_names}", "alentours",
             summed_population(communes, outside), outside)
    return a, b


def summed_population(communes: dict, codes: list[str]) -> float | None:
    values = [communes[c]["population"] for c in codes]
    return None if any(v is None for v in values) else sum(values)


def density_profile(release: Release, side: Side) -> list[dict] | None:
    """Population of the side's communes by density class (urbain, intermédiaire, rural), in %."""
    if not side.communes:
        return None
    rows = release.rows(f"SELECT density_class_7, sum(population) AS population FROM {release.table('territories')} "
                        f"WHERE level = 'commune' AND code IN ({placeholders(side.communes)}) GROUP BY ALL",
                        *side.communes)
    total = sum(r["population"] or 0 for r in rows)
    if not total or any(r["density_class_7"] is None or r["population"] is None for r in rows):
        return None
    return [{"label": label, "pct": figure(100 * sum(r["population"] for r in rows if r["density_class_7"] in classes)
                                           / total, unit="%", digits=0)} for label, classes in DENSITY_CLASSES]


def load_sides(release: Release, table: str, sides: list[tuple[str, str]]) -> None:
    """A temporary table `table` (code, side 'a' or 'b') to join the release's tables on."""
    release.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (code VARCHAR, side VARCHAR)")
    release.con.executemany(f"INSERT INTO {table} VALUES (?, ?)", sides)


def placeholders(values) -> str:
    return ", ".join("?" * len(values))


# --- the flows ---------------------------------------------------------------------------------

def figure(value, year=None, status=None, unit="", digits=1) -> dict:
    """A figure as printed: French number, or « inconnu » for null (never 0)."""
    if value is None:
        text = "inconnu"
    else:
        text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
        text = "0" if text.strip("0,\u202f-") == "" else text  # no "-0"
    return {"value": "" if value is None else repr(float(value)), "text": text, "unit": unit, "year": year,
            "status": STATUS.get(status, status)}


def text_with_unit(fig: dict) -> str:
    return fig["text"] if fig["value"] == "" else f"{fig['text']} {fig['unit']}"


def flow_series(release: Release, a: Side, b: Side, aggregated: bool) -> dict[str, list[dict]]:
    """Per flow kind, every year the release covers at the level: A->B, B->A with their status.

    Pair mode reads the pair's rows; perimeter mode (aggregated) sums the commune rows between
    the two sides. A year of a truncated census edition sums only what was published: a lower
    bound, or unknown when nothing was; a year with no row is a true zero otherwise."""
    level = "commune" if aggregated else a.level
    sides = [(c, "a") for c in (a.communes if aggregated else [a.code])] + \
            [(c, "b") for c in (b.communes if aggregated else [b.code])]
    load_sides(release, "sides", sides)
    release.cover_kind_years(level)
    rows = release.rows(f"""
        WITH pair AS (
            SELECT f.flow_kind, f.year, o.side = 'a' AS a_to_b, sum(f.value) AS value, count(f.value) AS known,
                   count(*) AS rows, any_value(f.value_status) AS status
            FROM {release.table("material_flows")} AS f
            JOIN sides AS o ON o.code = f.origin_code JOIN sides AS d ON d.code = f.destination_code
            WHERE f.level = ? AND o.side <> d.side GROUP BY ALL)
        SELECT y.flow_kind, y.year, y.complete, d.a_to_b, p.value, coalesce(p.known, 0) AS known,
               coalesce(p.rows, 0) AS rows, p.status
        FROM kind_years AS y CROSS JOIN (VALUES (true), (false)) AS d(a_to_b)
        LEFT JOIN pair AS p ON p.flow_kind = y.flow_kind AND p.year = y.year AND p.a_to_b = d.a_to_b
        WHERE y.level = ?
        ORDER BY y.flow_kind, y.year""", level, level)
    series: dict[str, dict[int, dict]] = {}
    for r in rows:
        value, status = direction_value(r, aggregated)
        entry = series.setdefault(r["flow_kind"], {}).setdefault(r["year"], {"year": r["year"]})
        entry["a_to_b" if r["a_to_b"] else "b_to_a"] = (value, status)
    return {kind: [years[y] for y in sorted(years)] for kind, years in series.items()}


def direction_value(row: dict, aggregated: bool) -> tuple[float | None, str]:
    truncated = not row["complete"]
    if row["rows"] == 0:
        return (None, "below_publication_threshold") if truncated else (0.0, "complete")
    if row["known"] == 0:
        return None, "below_publication_threshold"
    if aggregated:
        return row["value"], "lower_bound" if truncated else "complete"
    return row["value"], row["status"]


def commuter_shares(release: Release, a: Side, b: Side, aggregated: bool, series: list[dict]) -> dict[int, dict]:
    """Per census year: each side's share of its employed residents working on the other side, and
    the distance. Pair mode reads them from interdependencies; perimeter mode divides an exact sum
    by the sides' summed commune totals (null when one commune's total is unknown)."""
    if not aggregated:
        rows = release.rows(f"SELECT year, share_of_a_workers_employed_in_b_pct AS share_a, "
                            f"share_of_b_workers_employed_in_a_pct AS share_b, distance_km, "
                            f"employed_residents_a_workers AS employed_a, employed_residents_b_workers AS employed_b "
                            f"FROM {release.table('interdependencies')} WHERE level = ? AND code_a = ? AND code_b = ?",
                            a.level, a.code, b.code)
        return {r["year"]: r for r in rows}
    totals = release.rows(f"""
        SELECT t.year, s.side, CASE WHEN count(t.employed_residents_workers) = count(*)
                                    THEN sum(t.employed_residents_workers) END AS employed_residents
        FROM {release.table('territory_indicators')} AS t JOIN sides AS s ON s.code = t.code
        WHERE t.level = 'commune' GROUP BY ALL""")
    employed = {(t["year"], t["side"]): t["employed_residents"] for t in totals}
    shares = {}
    for y in series:
        def share(direction, side):
            value, status = y[direction]
            total = employed.get((y["year"], side))
            return round(100 * value / total, 4) if status == "complete" and value is not None and total else None
        shares[y["year"]] = {"share_a": share("a_to_b", "a"), "share_b": share("b_to_a", "b"), "distance_km": None,
                             "employed_a": employed.get((y["year"], "a")), "employed_b": employed.get((y["year"], "b"))}
    return shares


def latest_of(release: Release, a: Side, b: Side, aggregated: bool, series: dict[str, list[dict]]) -> dict:
    """Per flow kind, its latest year: the pair's row of interdependencies_latest, or the last year
    of the perimeter's series."""
    if not aggregated:
        found = release.rows(f"SELECT * FROM {release.table('interdependencies_latest')} "
                             "WHERE level = ? AND code_a = ? AND code_b = ?", a.level, a.code, b.code)
        pair = found[0] if found else None
        return {k.kind: {"year": pair[k.latest_year_column],
                         "a_to_b": (pair[k.latest_columns[0]], pair.get(f"{k.latest_columns[0]}_status", "complete")),
                         "b_to_a": (pair[k.latest_columns[1]], pair.get(f"{k.latest_columns[1]}_status", "complete"))}
                for k in FLOW_KINDS} if pair else {}
    return {kind: years[-1] for kind, years in series.items() if years}


AGGREGATED_CAVEATS = {kind: " Pour un périmètre, ce sont les sommes des transferts modélisés entre communes : le modèle "
                             "appliqué au périmètre entier compenserait d'abord les surplus et déficits de ses communes."
                      for kind in (k.kind for k in FLOW_KINDS if k.transfer)}


def caveat_parameters(settings: dict) -> dict[str, str]:
    """The models' parameters a caveat names, as a release was built with them (its manifest's
    settings; a release older than a parameter: today's default)."""
    hours = settings.get("wage_paid_hours_per_year", model_parameter_defaults()["wage_paid_hours_per_year"])
    return {"paid_hours": figure(hours, digits=0)["text"]}


def kind_section(kind: FlowKind, a: Side, b: Side, years: list[dict], latest: dict | None, shares: dict,
                 aggregated: bool = False, parameters: dict | None = None) -> dict:
    def fig(pair, year):
        value, status = pair
        return figure(value, year, status, kind.unit, kind.digits)

    rows = []
    for y in years:
        ab, ba = y["a_to_b"], y["b_to_a"]
        net = ab[0] - ba[0] if ab[0] is not None and ba[0] is not None else None
        row = {"year": y["year"], "a_to_b": fig(ab, y["year"]), "b_to_a": fig(ba, y["year"]),
               "net": figure(net, y["year"], None, kind.unit, kind.digits)}
        if kind.kind == "commuters":
            s = shares.get(y["year"], {})
            row["share_a"] = figure(s.get("share_a"), y["year"], unit="%")
            row["share_b"] = figure(s.get("share_b"), y["year"], unit="%")
            row["employed_a"] = figure(s.get("employed_a"), y["year"], unit=kind.unit, digits=kind.digits)
            row["employed_b"] = figure(s.get("employed_b"), y["year"], unit=kind.unit, digits=kind.digits)
        rows.append(row)
    caveat = kind.caveat_text(parameters or {}) + (AGGREGATED_CAVEATS.get(kind.kind, "") if aggregated else "")
    section = {"kind": kind.kind, "title": kind.title, "method": METHOD_LABELS[kind.method], "unit": kind.unit,
               "caveat": caveat, "years": rows, "latest": None, "sentence": None,
               "chart": trend_chart(rows, a.name, b.name, kind.unit) if rows else None}
    if latest and latest.get("year") is not None:
        ab, ba = fig(latest["a_to_b"], latest["year"]), fig(latest["b_to_a"], latest["year"])
        section["latest"] = {"year": latest["year"], "a_to_b": ab, "b_to_a": ba, "names": kind.latest_columns}
        section["sentence"] = kind.sentence(latest["year"], a.name, b.name, ab, ba)
    return section


def trend_chart(rows: list[dict], name_a: str, name_b: str, unit: str) -> str:
    """A small SVG line chart of both directions over the years (matplotlib); an unknown year is a gap."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def values(direction):
        return [float(r[direction]["value"]) if r[direction]["value"] else math.nan for r in rows]

    years = [r["year"] for r in rows]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dossier", "font.size": 9,
                                "font.family": "sans-serif"}):
        chart = Figure(figsize=(6.2, 2.1))
        axes = chart.subplots()
        axes.plot(years, values("a_to_b"), marker="o", color="#6a6af4", label=f"{name_a} → {name_b}")
        axes.plot(years, values("b_to_a"), marker="s", color="#e18b63", label=f"{name_b} → {name_a}")
        axes.set_ylabel(unit)
        axes.set_ylim(bottom=0)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(set(years)) == 1:  # one census (farmland): matplotlib would stretch the axis over two centuries
            axes.set_xlim(years[0] - 1, years[0] + 1)
        top = max((v for v in values("a_to_b") + values("b_to_a") if not math.isnan(v)), default=0)
        digits = 0 if top >= 10 else 2
        axes.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{v:,.{digits}f}".replace(",", "\u202f").replace(".", ",")))
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
        buffer = io.StringIO()
        chart.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = re.sub(r"<metadata>.*?</metadata>", "", buffer.getvalue(), flags=re.S)  # creator, licence URIs
    svg = re.sub(r' xmlns(:xlink)?="[^"]*"', "", svg)  # an SVG inline in HTML needs no namespace
    return svg[svg.index("<svg"):]


# --- the whole dossier -------------------------------------------------------------------------

def dossier_data(release: Release, a: Side, b: Side, aggregated: bool) -> dict:
    series = flow_series(release, a, b, aggregated)
    shares = commuter_shares(release, a, b, aggregated, series.get("commuters", []))
    latest = latest_of(release, a, b, aggregated, series)
    distances = [s["distance_km"] for s in shares.values() if s.get("distance_km") is not None]
    return {
        "release_id": release.manifest["release_id"],
        "a": a, "b": b, "aggregated": aggregated,
        "profiles": {"a": density_profile(release, a), "b": density_profile(release, b)},
        "distance": figure(distances[0], unit="km", digits=1) if distances else None,
        "populations": {"a": figure(a.population, unit="habitants", digits=0),
                        "b": figure(b.population, unit="habitants", digits=0)},
        "map": pair_map(release, a, b) if "territories_geo" in release.manifest["tables"] else None,
        "kinds": [kind_section(k, a, b, series.get(k.kind, []), latest.get(k.kind), shares, aggregated,
                               caveat_parameters(release.manifest["settings"])) for k in FLOW_KINDS],
        "sources": release.manifest["sources"],
        "tables": release.manifest["tables"],
        "set_aside": set_aside_touching(release, a, b),
    }


def set_aside_touching(release: Release, a: Side, b: Side) -> list[dict]:
    """The rows of set_aside_rows that name a commune of either side (or the territory itself)."""
    if "set_aside_rows" not in release.manifest["tables"]:
        return []
    codes = sorted(set(a.communes or [a.code]) | set(b.communes or [b.code]))
    rows = release.rows(f"SELECT source_id, vintage, source_file, source_row, quarantine_reason, "
                        f"array_to_string(commune_codes, ' ') AS codes, measure, measure_unit "
                        f"FROM {release.table('set_aside_rows')} WHERE list_has_any(commune_codes, ?) "
                        "ORDER BY source_id, vintage, source_row", codes)
    return [{**r, "measure": figure(r["measure"], unit=r["measure_unit"] or "", digits=2)} for r in rows]


def render(data: dict, template: str = "dossier.html.j2") -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    return environment.get_template(template).render(**data)


def pair_dossier(release: Release, code_a: str, code_b: str, level: str | None = None) -> dict:
    a = territory(release, code_a, level)
    b = territory(release, code_b, level or a.level)
    if a.level != b.level:
        raise DossierError(f"{code_a} is a {a.level} and {code_b} a {b.level}: give --level",
                           f"{code_a} ({a.level}) et {code_b} ({b.level}) ne sont pas du même niveau")
    return dossier_data(release, a, b, aggregated=False)


def perimeter_dossier(release: Release, path: Path, group_id: str | None = None,
                      surroundings: str = "departement") -> dict:
    a, b = perimeter_sides(release, path, group_id, surroundings)
    return dossier_data(release, a, b, aggregated=True)


def dossier_file_name(data: dict) -> str:
    return f"dossier_{data['a'].code}_{data['b'].code.replace(':', '_')}"


def write_dossiers(release: Release, pairs: Path, out: Path, workbooks: bool = False) -> tuple[Path, list[dict]]:
    """One dossier per row of `pairs` (code_a,code_b[,level]) in `out`, and `out/index.html` listing
    them; a row that cannot be written is listed with its reason. Returns the index and the rows."""
    try:
        with pairs.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DossierError(f"pairs file {pairs} is unreadable: {exc}") from None
    if not rows or not {"code_a", "code_b"} <= set(rows[0]):
        raise DossierError(f"pairs file {pairs} needs a header with code_a,code_b (and optionally level)")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for line, row in enumerate(rows, start=2):
        entry = {"line": line, "code_a": row["code_a"].strip(), "code_b": row["code_b"].strip()}
        try:
            data = pair_dossier(release, entry["code_a"], entry["code_b"], (row.get("level") or "").strip() or None)
        except DossierError as exc:
            entries.append({**entry, "error": str(exc), "reason": exc.french})
            continue
        name = dossier_file_name(data)
        write_dossier(data, out / f"{name}.html", out / f"{name}.xlsx" if workbooks else None)
        commuters = next(k for k in data["kinds"] if k["kind"] == "commuters")
        entries.append({**entry, "error": None, "a": data["a"], "b": data["b"], "html": f"{name}.html",
                        "xlsx": f"{name}.xlsx" if workbooks else None, "commuters": commuters["latest"]})
    index = out / "index.html"
    index.write_text(render({"release_id": release.manifest["release_id"], "entries": entries},
                            "dossiers_index.html.j2"), encoding="utf-8")
    return index, entries


def write_dossier(data: dict, out: Path, workbook: Path | None = None) -> Path:
    out.write_text(render(data), encoding="utf-8")
    if workbook:
        write_workbook(data, workbook)
    return out


def write_workbook(data: dict, path: Path) -> Path:
    """The dossier's figures as a workbook: French headers, names next to codes, rounded values,
    « inconnu » where the release has no value, one sheet per flow kind and a sources sheet."""
    import openpyxl

    def cell(fig: dict, digits: int):
        return round(float(fig["value"]), digits) if fig["value"] else "inconnu"

    a, b = data["a"], data["b"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Territoires"
    sheet.append(["", "Territoire A", "Territoire B"])
    for label, key in (("Nom", "name"), ("Code", "code"), ("Niveau", "level"), ("Population municipale", "population")):
        sheet.append([label, getattr(a, key), getattr(b, key)])
    sheet = book.create_sheet("Dernière année")
    sheet.append(["Flux", "Méthode", "Année", f"De {a.name} vers {b.name}", f"De {b.name} vers {a.name}", "Unité"])
    for section in data["kinds"]:
        if section["latest"]:
            latest, digits = section["latest"], 3 if section["unit"] == "ha" else 1
            sheet.append([section["title"], section["method"], latest["year"], cell(latest["a_to_b"], digits),
                          cell(latest["b_to_a"], digits), section["unit"]])
    for section in data["kinds"]:
        sheet = book.create_sheet(SHEET_NAMES[section["kind"]])
        digits = 3 if section["unit"] == "ha" else 1
        header = ["Année", f"De {a.name} vers {b.name} ({section['unit']})", "Statut",
                  f"De {b.name} vers {a.name} ({section['unit']})", "Statut", f"Solde de A vers B ({section['unit']})"]
        if section["kind"] == "commuters":
            header = ["Année", f"Actifs de {a.name} travaillant à {b.name}", "Statut", f"Part des actifs de {a.name} (%)",
                      f"Actifs de {b.name} travaillant à {a.name}", "Statut", f"Part des actifs de {b.name} (%)",
                      "Solde de A vers B (actifs)"]
        sheet.append(header)
        for y in section["years"]:
            if section["kind"] == "commuters":
                sheet.append([y["year"], cell(y["a_to_b"], digits), y["a_to_b"]["status"], cell(y["share_a"], 2),
                              cell(y["b_to_a"], digits), y["b_to_a"]["status"], cell(y["share_b"], 2),
                              cell(y["net"], digits)])
            else:
                sheet.append([y["year"], cell(y["a_to_b"], digits), y["a_to_b"]["status"], cell(y["b_to_a"], digits),
                              y["b_to_a"]["status"], cell(y["net"], digits)])
    sheet = book.create_sheet("Sources")
    sheet.append(["Publication", data["release_id"]])
    sheet.append(["Source", "Producteur", "Millésimes", "Licence", "Page du producteur"])
    for s in data["sources"]:
        sheet.append([s["title"], s["producer"], ", ".join(str(v["vintage"]) for v in s["vintages"]), s["licence"],
                      s["landing_page"]])
    book.save(path)
    return path


SHEET_NAMES = {"commuters": "Navetteurs", "housing_land_for_jobs": "Foncier", "electricity_transfer": "Électricité",
               "food_land": "Terres agricoles", "wage_income": "Salaires"}
SIDE_COLOURS = {"a": "#6a6af4", "b": "#e18b63"}
NICE_KM = (1, 2, 5, 10, 20, 50, 100, 200, 500)
KM_PER_DEGREE = 111.32  # a degree of latitude


def pair_map(release: Release, a: Side, b: Side, links: int = 10) -> str | None:
    """Inline SVG: the communes of A and B (or the two territories), the largest commune-to-commune
    commuting links between them as lines whose width follows the flow, a scale bar and the north.
    Shapes come from territories_geo through shapely; the projection is equirectangular around the
    pair's latitude (fine at this scale)."""
    import shapely
    from shapely import affinity

    if a.communes and b.communes:
        side_of = {**{c: "a" for c in a.communes}, **{c: "b" for c in b.communes}}
        level = "commune"
    else:
        side_of, level = {a.code: "a", b.code: "b"}, a.level
    codes = list(side_of)
    shapes = release.rows(f"SELECT code, ST_AsWKB(geometry) AS wkb FROM {release.table('territories_geo')} "
                          f"WHERE level = ? AND code IN ({placeholders(codes)})", level, *codes)
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
        parts += link_lines(release, side_of, projected, links)
    units_per_km = k / KM_PER_DEGREE
    km = next((n for n in NICE_KM if n * units_per_km >= (px1 - px0) / 6), NICE_KM[-1])
    x, y = px0, py1 + pad * 0.6
    parts.append(f'<g class="echelle"><line x1="{x:.1f}" y1="{y:.1f}" x2="{x + km * units_per_km:.1f}" y2="{y:.1f}" '
                 f'stroke="#000" stroke-width="4"/><text x="{x:.1f}" y="{y - 8:.1f}" font-size="28">{km} km</text></g>')
    parts.append(f'<g class="nord"><text x="{px1:.1f}" y="{py0 + 10:.1f}" font-size="40" text-anchor="end">N ↑</text></g>')
    view = f"{px0 - pad:.1f} {py0 - pad:.1f} {px1 - px0 + 2 * pad:.1f} {py1 - py0 + 2 * pad:.1f}"
    return (f'<svg viewBox="{view}" role="img" '
            f'aria-label="Carte de {a.name} et {b.name}">' + "".join(parts) + "</svg>")


def link_lines(release: Release, side_of: dict[str, str], projected: dict, links: int) -> list[str]:
    """The `links` largest commune-to-commune commuting flows between the two sides, latest year."""
    import shapely

    load_sides(release, "map_sides", list(side_of.items()))
    flows_table = release.table("commuting_flows")
    flows = release.rows(
        f"""SELECT f.origin_code, f.destination_code, f.workers FROM {flows_table} AS f
            JOIN map_sides AS o ON o.code = f.origin_code JOIN map_sides AS d ON d.code = f.destination_code
            WHERE f.level = 'commune' AND f.workers > 0 AND o.side <> d.side
              AND f.year = (SELECT max(year) FROM {flows_table})
            ORDER BY f.workers DESC, f.origin_code, f.destination_code""")
    between = [f for f in flows if f["origin_code"] in projected and f["destination_code"] in projected][:links]
    largest = max((f["workers"] for f in between), default=1)
    lines = []
    for f in between:
        line = shapely.LineString([projected[f["origin_code"]].centroid, projected[f["destination_code"]].centroid])
        lines.append(line.svg(scale_factor=1 + 6 * f["workers"] / largest, stroke_color="#161616")
                     .replace("<polyline ", f'<polyline data-link="{f["origin_code"]}-{f["destination_code"]}" '
                                           f'data-workers="{f["workers"]!r}" opacity="0.7" ', 1))
    return lines
