"""Dagster code location: raw assets (one per source), the dbt models (dbt tests as asset checks),
row-count checks, the publish asset, one job, a weekly schedule and a change sensor.

`FLOWS_SOURCES=<ids>` restricts the job to those sources, the dbt models whose sources are all
among them, and publishes the tables those models allow.
"""


import hashlib
import json
import logging
import os
import sys
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Field,
    Definitions,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    asset,
    asset_check,
    define_asset_job,
    logger,
    schedule,
    sensor,
)
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from .contracts import PROJECT_ROOT, Contract, ContractError, load_contracts, selected_source_ids
from .geography import target_cog_year
from .publish import load_descriptors, output_dir, publish, read_latest, rows_by_year, vintages_that_lost_rows
from .fetch import FetchSettings
from .raw import (
    CENTROIDS_ID,
    CONTOURS_ID,
    GROUPS_ID,
    PASSAGE_ID,
    data_dir,
    materialise_centroids,
    materialise_groups,
    materialise_passage,
    materialise_source,
    raw_dir,
    write_json_atomically,
)
from .resources import fresh_temp_directory, memory_limit
from .set_aside import blocking_message, read_set_aside, rebased_group_codes, report_lines
from .refresh import changed_sources, sensor_interval_seconds
from .selection import column_descriptions, model_sources, models_allowed, prepare_dbt_manifest, unusable_selection

JOB_NAME = "flows_job"
SET_ASIDE_MODEL = "set_aside_summary"
PASSAGE_INPUTS = ("insee_cog_mouvements", "insee_populations_legales")
GROUP_CODE_REFERENCES = ("insee_cog_communes", "insee_cog_mouvements")  # to check the codes of FLOWS_GROUPS

os.environ.setdefault("DO_NOT_TRACK", "1")
CONTRACTS = load_contracts()
TARGET_COG = target_cog_year([v.vintage for v in CONTRACTS["insee_cog_communes"].vintages])


def warehouse_path():
    return data_dir() / "warehouse.duckdb"


def dbt_environment() -> None:
    """dbt reads where raw Parquet lives and which DuckDB file to build from the environment."""
    os.environ["FLOWS_RAW_DIR"] = str(raw_dir())
    os.environ["FLOWS_WAREHOUSE"] = str(warehouse_path())
    # A run restricted by FLOWS_SOURCES builds some models only: run a test only when all the
    # models it reads are built (dbt's default, eager, would run it on a missing table).
    os.environ["DBT_INDIRECT_SELECTION"] = "cautious"
    data_dir().mkdir(parents=True, exist_ok=True)
    os.environ["FLOWS_DUCKDB_MEMORY_LIMIT"] = memory_limit()
    os.environ["FLOWS_DUCKDB_TEMP_DIRECTORY"] = str(fresh_temp_directory(data_dir()))


def raw_asset(contract: Contract):
    @asset(
        key=AssetKey(["raw", contract.id]),
        group_name="raw",
        description=f"{contract.title} ({contract.producer}). Licence: {contract.licence}.",
        metadata={"landing_page": MetadataValue.url(contract.landing_page), "licence": contract.licence},
        kinds={"python", "parquet"},
    )
    def _raw(context: AssetExecutionContext) -> MaterializeResult:
        provenance = materialise_source(contract)
        for v in provenance["vintages"]:
            context.log.info(f"{contract.id} {v['vintage']}: {v['rows']} rows from {v['url']} (sha256 {v['sha256'][:12]})")
        return MaterializeResult(metadata={
            "rows": provenance["rows"],
            "vintages": MetadataValue.json(provenance["vintages"]),
            "urls": MetadataValue.json([v["url"] for v in provenance["vintages"]]),
            "sha256": MetadataValue.json({str(v["vintage"]): v["sha256"] for v in provenance["vintages"]}),
        })

    return _raw


@asset(
    key=AssetKey(["raw", PASSAGE_ID]),
    group_name="raw",
    deps=[AssetKey(["raw", s]) for s in PASSAGE_INPUTS],
    description="Passage from the commune codes of every source geography year to the target COG.",
    kinds={"python", "parquet"},
)
def commune_passage() -> MaterializeResult:
    summary = materialise_passage(CONTRACTS)
    return MaterializeResult(metadata={k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in summary.items()})


@asset(
    key=AssetKey(["raw", GROUPS_ID]),
    group_name="raw",
    deps=[AssetKey(["raw", s]) for s in GROUP_CODE_REFERENCES],
    description="Custom groups of communes from FLOWS_GROUPS (group_id, group_name, commune_code), e.g. "
    "the perimeter of one reciprocity contract; empty when FLOWS_GROUPS is not set.",
    kinds={"python", "parquet"},
)
def custom_groups() -> MaterializeResult:
    return MaterializeResult(metadata=materialise_groups())


@asset(
    key=AssetKey(["raw", CENTROIDS_ID]),
    group_name="raw",
    deps=[AssetKey(["raw", CONTOURS_ID])],
    description="Centroid of each commune from the latest boundaries, for distances (empty without boundaries).",
    kinds={"python", "parquet"},
)
def commune_centroids() -> MaterializeResult:
    return MaterializeResult(metadata=materialise_centroids())


DBT_PROJECT = DbtProject(project_dir=PROJECT_ROOT / "dbt_project", profiles_dir=PROJECT_ROOT / "dbt_project")
prepare_dbt_manifest(DBT_PROJECT)


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
    dbt_environment()
    dbt_vars = json.dumps({"target_cog": TARGET_COG})
    yield from dbt.cli(["build", "--vars", dbt_vars], context=context).stream()


def derived_raw_tables(selected: list[str]) -> set[str]:
    """Raw tables built in Python from the selected sources: the passage needs its inputs; groups
    and centroids are always built (empty without FLOWS_GROUPS or boundaries)."""
    return ({PASSAGE_ID} if all(s in selected for s in PASSAGE_INPUTS) else set()) | {GROUPS_ID, CENTROIDS_ID}


SELECTED = selected_source_ids(list(CONTRACTS))
DERIVED = derived_raw_tables(SELECTED)
ALLOWED_MODELS = models_allowed(DBT_PROJECT.manifest_path, set(SELECTED) | DERIVED)
DESCRIPTORS = load_descriptors()
PUBLISHED = sorted(t for t, d in DESCRIPTORS.items() if d.model in ALLOWED_MODELS)


def sources_needed(model: str) -> set[str]:
    """The source ids (contracts) a model is built from, the passage's inputs standing for it."""
    needs = model_sources(DBT_PROJECT.manifest_path, model) - {GROUPS_ID, CENTROIDS_ID}
    if PASSAGE_ID in needs:
        needs = (needs - {PASSAGE_ID}) | set(PASSAGE_INPUTS)
    return needs


if set(SELECTED) != set(CONTRACTS):
    problem = unusable_selection(set(SELECTED), {t: sources_needed(d.model) for t, d in DESCRIPTORS.items()})
    if problem:
        raise ContractError(problem)


@asset(
    group_name="publish",
    deps=[AssetKey([DESCRIPTORS[t].model]) for t in PUBLISHED]
    + ([AssetKey([SET_ASIDE_MODEL])] if SET_ASIDE_MODEL in ALLOWED_MODELS else []),
    description="Counts what was set aside (and blocks beyond FLOWS_MAX_QUARANTINE_SHARE), then writes a "
    "versioned release of the published tables with its manifest, then latest.json.",
    kinds={"parquet"},
)
def release(context: AssetExecutionContext) -> MaterializeResult:
    provenance = [json.loads((raw_dir() / f"{s}.provenance.json").read_text()) for s in SELECTED]
    settings = {"target_cog": TARGET_COG, "sources": SELECTED, "groups_file": Path(os.environ.get("FLOWS_GROUPS", "")).name}
    models = {t: DESCRIPTORS[t].model for t in PUBLISHED}
    docs = {t: column_descriptions(DBT_PROJECT.manifest_path, m) for t, m in models.items()}
    lineage = {t: sorted(model_sources(DBT_PROJECT.manifest_path, m) & set(SELECTED)) for t, m in models.items()}
    report = set_aside_of_this_run(context)
    settings["group_codes_rebased"] = report.get("group_codes_rebased", [])
    path, is_new = publish(warehouse_path(), PUBLISHED, provenance, settings, output_dir(), column_docs=docs,
                           table_sources=lineage, set_aside=report.get("set_aside"))
    manifest = json.loads((path / "manifest.json").read_text())
    if is_new:
        context.log.info(f"published release {manifest['release_id']} to {path}")
    else:
        context.log.info(f"nothing changed since release {manifest['release_id']}: no new release")
    return MaterializeResult(metadata={
        "release_id": manifest["release_id"],
        "new_release": is_new,
        "path": str(path),
        "rows": MetadataValue.json({t: m["rows"] for t, m in manifest["tables"].items()}),
    })


def set_aside_report_path() -> Path:
    return data_dir() / "set_aside.json"


@asset_check(asset=AssetKey([SET_ASIDE_MODEL]), name="set_aside_within_limit", blocking=True,
             description="No source vintage loses more than FLOWS_MAX_QUARANTINE_SHARE (default 1 %) of its rows "
             "or of its measure to the quarantine; writes the summary that `flows run` prints.")
def set_aside_within_limit(context: AssetCheckExecutionContext) -> AssetCheckResult:
    entries = read_set_aside(warehouse_path())
    groups = rebased_group_codes(warehouse_path())
    write_json_atomically({"run_id": context.run.run_id, "set_aside": entries, "group_codes_rebased": groups},
                          set_aside_report_path())
    context.log.info(report_lines(entries)[0].rstrip(":"))
    problem = blocking_message(entries)
    return AssetCheckResult(passed=problem is None, severity=AssetCheckSeverity.ERROR, description=problem,
                            metadata={"set_aside": MetadataValue.json(entries)})


def set_aside_of_this_run(context: AssetExecutionContext) -> dict:
    """What the check above wrote in this run (set_aside, group_codes_rebased); empty when FLOWS_SOURCES
    leaves out sources it reads."""
    if SET_ASIDE_MODEL not in ALLOWED_MODELS:
        context.log.warning("rows set aside are not counted: FLOWS_SOURCES leaves out sources the count reads")
        return {}
    return json.loads(set_aside_report_path().read_text(encoding="utf-8"))


def row_count_check(table: str):
    """Rows per year of a mart against the latest release, within FLOWS_ROWCOUNT_TOLERANCE (a
    fraction, default 0.5); blocking: a failure stops publication."""
    descriptor = DESCRIPTORS[table]

    @asset_check(asset=AssetKey([descriptor.model]), name=f"{table}_row_counts_vs_latest_release", blocking=True,
                 description=f"Rows per year of {table} within FLOWS_ROWCOUNT_TOLERANCE of the latest release.")
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        tolerance = float(os.environ.get("FLOWS_ROWCOUNT_TOLERANCE", "0.5"))
        previous = read_latest(output_dir())
        previous_file = previous / f"{table}.parquet" if previous else None
        if previous_file is None or not previous_file.exists():
            return AssetCheckResult(passed=True, metadata={"previous_release": "none"})
        now = rows_by_year(warehouse_path(), descriptor.model)
        before = rows_by_year(previous_file, None)
        drifts = {year: (before.get(year, 0), now.get(year, 0)) for year in sorted(set(now) | set(before))
                  if abs(now.get(year, 0) - before.get(year, 0)) > tolerance * max(before.get(year, 0), 1)}
        return AssetCheckResult(
            passed=not drifts,
            severity=AssetCheckSeverity.ERROR,
            description=None if not drifts else f"{table}: rows (previous, now) beyond {tolerance:.0%}: {drifts}",
            metadata={"previous_release": previous.name, "tolerance": tolerance,
                      "drifts": MetadataValue.json({str(y): list(v) for y, v in drifts.items()})},
        )

    return _check


def source_rows_check(contract: Contract):
    """A vintage already published that comes back with fewer rows than its contract's row_tolerance
    allows (a producer's file cut short) stops everything built from it."""

    @asset_check(asset=AssetKey(["raw", contract.id]), name="rows_vs_latest_release", blocking=True,
                 description=f"No vintage of {contract.id} already published loses more than "
                 f"{contract.row_tolerance:.0%} of its rows (row_tolerance in sources/{contract.id}.yml).")
    def _check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        previous = read_latest(output_dir())  # a complete release (flows run repaired the pointer first)
        if previous is None:
            return AssetCheckResult(passed=True, metadata={"previous_release": "none"})
        provenance = json.loads((raw_dir() / f"{contract.id}.provenance.json").read_text(encoding="utf-8"))
        lost = vintages_that_lost_rows(provenance, json.loads((previous / "manifest.json").read_text()),
                                       contract.row_tolerance)
        return AssetCheckResult(
            passed=not lost, severity=AssetCheckSeverity.ERROR,
            description=None if not lost else (
                f"source {contract.id} lost rows beyond its tolerance of {contract.row_tolerance:.0%}: " + "; ".join(lost)
                + f". The producer may have published a truncated file: check it; if the loss is real, raise "
                f"row_tolerance in sources/{contract.id}.yml."),
        )

    return _check


def job_selection() -> AssetSelection:
    keys = [AssetKey(["raw", s]) for s in SELECTED + sorted(DERIVED)]
    keys += [AssetKey([m]) for m in sorted(ALLOWED_MODELS)]
    return AssetSelection.assets(*keys) | AssetSelection.assets(release)


flows_job = define_asset_job(JOB_NAME, selection=job_selection(), description="Fetch, build and publish.")


def assets_depending_on(sources: list[str]) -> list[AssetKey]:
    """The raw assets of `sources`, the derived raw tables and dbt models built from them, the release."""
    changed = set(sources)
    keys = [AssetKey(["raw", s]) for s in sources]
    if changed & set(PASSAGE_INPUTS):
        keys.append(AssetKey(["raw", PASSAGE_ID]))
        changed.add(PASSAGE_ID)
    if CONTOURS_ID in changed:
        keys.append(AssetKey(["raw", CENTROIDS_ID]))
        changed.add(CENTROIDS_ID)
    keys += [AssetKey([m]) for m in sorted(ALLOWED_MODELS) if model_sources(DBT_PROJECT.manifest_path, m) & changed]
    return keys + [release.key]


def refresh_evaluation() -> RunRequest | SkipReason:
    """Shared by the schedule and the sensor: a run of what depends on the changed sources, or a skip."""
    changed = changed_sources(CONTRACTS, SELECTED)
    if not changed:
        return SkipReason("no source changed since it was last fetched")
    return refresh_request(changed)


def refresh_request(changed: list[str]) -> RunRequest:
    """A run of what depends on the changed sources; the run key dedupes repeated evaluations."""
    fingerprint = hashlib.sha256(json.dumps(changed).encode() + str(sorted(source_cache_state())).encode()).hexdigest()
    return RunRequest(run_key=fingerprint[:16], asset_selection=assets_depending_on(changed),
                      tags={"changed_sources": ",".join(changed)})


def source_cache_state() -> list[str]:
    """What the download cache knows now (changes after every fetch), to key refresh runs."""
    index = FetchSettings.from_env().cache_dir / "index.json"
    return [index.read_text()] if index.exists() else []


@schedule(
    name="flows_weekly",
    job_name=JOB_NAME,
    cron_schedule=os.environ.get("FLOWS_SCHEDULE_CRON", "0 5 * * 1"),  # Mondays at 05:00
    execution_timezone="Europe/Paris",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Weekly refresh of what depends on the sources that changed since their last fetch; "
    "skipped when none did.",
)
def flows_weekly(context: ScheduleEvaluationContext):
    return refresh_evaluation()


@sensor(
    name="source_changes",
    job_name=JOB_NAME,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.STOPPED,
    description="Between scheduled refreshes, asks every source whether it changed (HEAD: ETag, "
    "Last-Modified, size; a mirror directory's files are hashed) and runs what depends on the changed ones.",
)
def source_changes(context: SensorEvaluationContext):
    return refresh_evaluation()


class WithoutStackTraces(logging.Filter):
    """Keeps a failed step's message and drops Dagster's stack trace (FLOWS_LOG_LEVEL=DEBUG keeps it):
    `flows run` ends with one line per failure that says what to do."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\nStack Trace:" in message:
            record.msg, record.args = message.split("\nStack Trace:")[0].rstrip(), ()
        return True


@logger(config_schema={"log_level": Field(str, is_required=False, default_value="INFO")},
        description="Console log of `flows run`: Dagster's events, stack traces only at DEBUG.")
def flows_console(init_context) -> logging.Logger:
    level = init_context.logger_config["log_level"].upper()
    console = logging.Logger("flows", level=level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s", "%Y-%m-%d %H:%M:%S"))
    if level != "DEBUG":
        handler.addFilter(WithoutStackTraces())
    console.addHandler(handler)
    return console


defs = Definitions(
    loggers={"console": flows_console},
    assets=[raw_asset(c) for c in CONTRACTS.values()] + [commune_passage, custom_groups, commune_centroids, dbt_models, release],
    asset_checks=[row_count_check(t) for t in PUBLISHED
                  if DESCRIPTORS[t].format == "parquet" and DESCRIPTORS[t].row_count_check]
    + [source_rows_check(CONTRACTS[s]) for s in SELECTED]
    + ([set_aside_within_limit] if SET_ASIDE_MODEL in ALLOWED_MODELS else []),
    jobs=[flows_job],
    schedules=[flows_weekly],
    sensors=[source_changes],
    # dbt through flows-dbt, which dies with the run that started it (pipelines/dbt_child.py)
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=str(Path(sys.executable).parent / "flows-dbt"))},
)
