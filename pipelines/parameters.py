"""The models' parameters a user may set: dbt vars of the same names, whose defaults dbt_project.yml
states and whose values a release's manifest records (`settings`)."""

from __future__ import annotations

from functools import cache

import yaml

from .ingest.contracts import PROJECT_ROOT

MODEL_PARAMETERS = ("food_land_per_inhabitant_ha", "wage_paid_hours_per_year")


@cache
def model_parameter_defaults() -> dict[str, float]:
    """The defaults of the models' parameters, as dbt_project.yml's vars state them."""
    variables = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    return {name: variables[name] for name in MODEL_PARAMETERS}
