"""Dagster code location (`dagster dev`, `flows run`): the assets grouped by layer (raw, staging,
intermediate, marts, publish), their checks, one job, a weekly schedule and a change sensor.

Nothing is read at import: Dagster calls `defs` when it loads the code location, which reads the
settings from the environment once; tests and `flows run` call `build_definitions` with theirs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster import Definitions, definitions

from ..settings import Settings
from ..warehouse.dbt_project import FlowsDbtCli
from .assets import all_assets
from .automation import change_sensor, flows_job, refresh_schedule
from .checks import all_checks
from .console import flows_console
from .plan import RunPlan


def build_definitions(settings: Settings, plan: RunPlan | None = None) -> Definitions:
    plan = plan or RunPlan.from_settings(settings)
    assets = all_assets(plan)
    # dbt through flows-dbt, which dies with the run that started it (pipelines/warehouse/dbt_child.py)
    dbt = FlowsDbtCli(project_dir=plan.dbt, dbt_executable=str(Path(sys.executable).parent / "flows-dbt"))
    return Definitions(
        loggers={"console": flows_console},
        assets=assets,
        asset_checks=all_checks(plan),
        jobs=[flows_job(plan)],
        schedules=[refresh_schedule(plan, assets)],
        sensors=[change_sensor(plan, assets)],
        resources={"dbt": dbt, "settings": settings},
    )


@definitions
def defs() -> Definitions:
    return build_definitions(Settings.from_env())
