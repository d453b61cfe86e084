"""The job, its weekly schedule and the change sensor. A refresh runs the raw assets of the sources
that changed and everything downstream of them in the asset graph, within the job."""

import hashlib
import json

from dagster import (
    AssetKey,
    AssetSelection,
    AssetsDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from ..ingest.changes import changed_sources
from ..ingest.fetch import FetchSettings
from .assets import raw_key
from .plan import RunPlan

JOB_NAME = "flows_job"


def job_selection(plan: RunPlan) -> AssetSelection:
    keys = [raw_key(s) for s in plan.selected + sorted(plan.derived)]
    keys += [AssetKey([m]) for m in sorted(plan.allowed_models)]
    return AssetSelection.assets(*keys, AssetKey(["release"]))


def flows_job(plan: RunPlan):
    return define_asset_job(JOB_NAME, selection=job_selection(plan), description="Fetch, build and publish.")


def refresh_selection(plan: RunPlan, assets: list[AssetsDefinition], changed: list[str]) -> list[AssetKey]:
    """The raw assets of the changed sources and what the job builds downstream of them."""
    selection = AssetSelection.assets(*[raw_key(s) for s in changed]).downstream() & job_selection(plan)
    return sorted(selection.resolve(assets))


def refresh_evaluation(plan: RunPlan, assets: list[AssetsDefinition]) -> RunRequest | SkipReason:
    """Shared by the schedule and the sensor: a run of what depends on the changed sources, or a skip.
    The run key (the changes and the download cache's state) dedupes repeated evaluations."""
    fetch_settings = FetchSettings.from_settings(plan.settings)
    changed = changed_sources(plan.contracts, plan.selected, fetch_settings)
    if not changed:
        return SkipReason("no source changed since it was last fetched")
    index = fetch_settings.cache_dir / "index.json"
    cache_state = [index.read_text()] if index.exists() else []  # changes after every fetch
    fingerprint = hashlib.sha256(json.dumps(changed).encode() + str(cache_state).encode()).hexdigest()
    return RunRequest(run_key=fingerprint[:16], asset_selection=refresh_selection(plan, assets, changed),
                      tags={"changed_sources": ",".join(changed)})


def refresh_schedule(plan: RunPlan, assets: list[AssetsDefinition]) -> ScheduleDefinition:
    @schedule(name="flows_weekly", job_name=JOB_NAME, cron_schedule=plan.settings.schedule_cron,
              execution_timezone="Europe/Paris", default_status=DefaultScheduleStatus.RUNNING,
              description="Weekly refresh of what depends on the sources that changed since their last fetch; "
              "skipped when none did.")
    def flows_weekly(context: ScheduleEvaluationContext):
        return refresh_evaluation(plan, assets)

    return flows_weekly


def change_sensor(plan: RunPlan, assets: list[AssetsDefinition]) -> SensorDefinition:
    @sensor(name="source_changes", job_name=JOB_NAME, minimum_interval_seconds=plan.settings.sensor_interval_seconds,
            default_status=DefaultSensorStatus.STOPPED,
            description="Between scheduled refreshes, asks every source whether it changed (HEAD: ETag, "
            "Last-Modified, size; a mirror directory's files are hashed) and runs what depends on the changed ones.")
    def source_changes(context: SensorEvaluationContext):
        return refresh_evaluation(plan, assets)

    return source_changes
