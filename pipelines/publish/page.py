"""The release page: `releases/<id>/index.html`, static, in French, written with the release.

It describes the release from its manifest (tables with their cards, columns, row counts, licences
and downloads; sources; rows set aside) and carries a territory search and an SQL console that
DuckDB-WASM answers in the reader's browser from the release's own Parquet files. DuckDB-WASM and
the page's script live once in `<output>/site/`, built from the npm packages of `site/` (`make`
builds it) and copied there at each publication; nothing is loaded from a third party.
"""

from __future__ import annotations

import filecmp
import json
import logging
import os
import shutil
from pathlib import Path

import jinja2

from ..commands.dossier import FLOW_KINDS, METHOD_LABELS, caveat_parameters
from ..files import write_text_atomically
from ..ingest.contracts import PROJECT_ROOT

SITE_BUILD = PROJECT_ROOT / "site" / "dist"
TEMPLATES = Path(__file__).resolve().parent / "templates"
LEVELS = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région", "group": "groupe"}
# The indicators a territory's panel shows over time, as territory_indicators names them.
INDICATORS = ("employed_residents_workers", "jobs_filled_workers", "self_containment_pct", "census_jobs",
              "private_salaried_jobs", "land_take_total_ha", "electricity_balance_mwh", "electricity_autonomy_pct",
              "food_land_balance_ha", "food_land_cover_pct", "resident_wages_earned_elsewhere_pct",
              "job_wages_paid_elsewhere_pct")
PAIR = ("200046977", "200040350")  # Métropole de Lyon and CC Bugey Sud: the README's pair
EXAMPLES = (
    ("La paire du README : chaque flux à sa dernière année",
     "SELECT commuters_year, workers_a_to_b, workers_b_to_a, housing_land_year,\n"
     "       housing_land_b_for_jobs_in_a_ha AS land_b_for_a_ha, electricity_year,\n"
     "       electricity_from_b_surplus_to_a_mwh AS electricity_b_to_a_mwh\n"
     "FROM interdependencies_latest\n"
     f"WHERE level = 'epci' AND code_a = '{PAIR[0]}' AND code_b = '{PAIR[1]}';"),
    ("Tous les flux d'un EPCI (CC Bugey Sud)",
     "SELECT flow_kind, year, origin_code, destination_code, value, unit, method\n"
     "FROM material_flows\n"
     f"WHERE level = 'epci' AND (origin_code = '{PAIR[1]}' OR destination_code = '{PAIR[1]}')\n"
     "ORDER BY flow_kind, year, origin_code, destination_code;"),
)
log = logging.getLogger(__name__)


def page_config(manifest: dict) -> dict:
    """What the page's script needs: the tables to view, the flow kinds, the indicators, the examples."""
    tables = manifest["tables"]
    indicator_columns = {c["name"] for c in tables.get("territory_indicators", {}).get("columns", [])}
    parameters = caveat_parameters(manifest["settings"])
    return {
        "tables": [{"name": name, "file": table["file"]} for name, table in sorted(tables.items())],
        "kinds": [{"kind": k.kind, "title": k.title, "method": k.method, "method_label": METHOD_LABELS[k.method],
                   "unit": k.unit, "columns": list(k.latest_columns), "year_column": k.latest_year_column,
                   "caveat": k.caveat_text(parameters)} for k in FLOW_KINDS],
        "indicators": [name for name in INDICATORS if name in indicator_columns],
        "levels": LEVELS,
        "examples": [{"title": title, "sql": sql} for title, sql in EXAMPLES],
    }


def release_page(manifest: dict, descriptors: dict, column_docs: dict[str, dict[str, str]]) -> str:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    config = json.dumps(page_config(manifest), ensure_ascii=False).replace("</", "<\\/")
    set_aside = [s for s in manifest.get("set_aside") or [] if s["rows_set_aside"]]
    return environment.get_template("index.html.j2").render(
        manifest=manifest, descriptors=descriptors, docs=column_docs, config=config, examples=EXAMPLES, set_aside=set_aside, site_available=SITE_BUILD.is_dir())


def publish_site(out: Path) -> None:
    """Put the built `site/dist` at `<out>/site`, replacing an older copy whole (renamed into place:
    a reader never sees half of it). Without a build (`make` not run), the pages' console and search
    say that DuckDB is missing; the releases are published all the same."""
    target = out / "site"
    if not SITE_BUILD.is_dir():
        log.warning("site/dist is missing (run `make`): the release page's console and search will not load")
        return
    if target.is_dir() and not differs(SITE_BUILD, target):
        return
    staging = out / f".site-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(SITE_BUILD, staging)
    old = out / f".site-old-{os.getpid()}"
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def differs(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.right_only or comparison.diff_files or comparison.funny_files:
        return True
    return any(differs(left / d, right / d) for d in comparison.common_dirs)


def write_home_page(out: Path, release_id: str) -> None:
    """`<out>/index.html`: a link to the latest release's page (and a redirect to it), replaced
    atomically after latest.json."""
    target = f"releases/{release_id}/index.html"
    text = ('<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0; url={target}"><title>Flux entre territoires</title></head>\n'
            f'<body><p>Dernière publication : <a href="{target}">{release_id}</a>.</p></body></html>\n')
    write_text_atomically(text, out / "index.html")
