"""Blocking checks written in Python (the dbt tests are the others): a source that lost rows, a
table whose rows per year drift from the latest release, and what a run set aside. A failure
stops publication."""

import json

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetChecksDefinition,
    AssetKey,
    MetadataValue,
    asset_check,
)

from ..files import write_json_atomically
from ..ingest.contracts import Contract
from ..publish.release import TableDescriptor, read_latest, rows_by_year, vintages_that_lost_rows
from ..settings import Settings
from ..warehouse.set_aside import blocking_message, read_set_aside, rebased_group_codes, report_lines, set_aside_report_path
from .assets import raw_key
from .plan import SET_ASIDE_MODEL, RunPlan


@asset_check(asset=AssetKey([SET_ASIDE_MODEL]), name="set_aside_within_limit", blocking=True,
             description="No source vintage loses more than FLOWS_MAX_QUARANTINE_SHARE (default 1 %) of its rows "
             "or of its measure to the quarantine; writes the summary that `flows run` prints.")
def set_aside_within_limit(context: AssetCheckExecutionContext, settings: Settings) -> AssetCheckResult:
    entries = read_set_aside(settings.warehouse)
    groups = rebased_group_codes(settings.warehouse)
    write_json_atomically({"run_id": context.run.run_id, "set_aside": entries, "group_codes_rebased": groups},
                          set_aside_report_path(settings.data_path))
    context.log.info(report_lines(entries)[0].rstrip(":"))
    problem = blocking_message(entries, settings.max_quarantine_share)
    return AssetCheckResult(passed=problem is None, severity=AssetCheckSeverity.ERROR, description=problem,
                            metadata={"set_aside": MetadataValue.json(entries)})


def row_count_check(table: str, descriptor: TableDescriptor) -> AssetChecksDefinition:
    """Rows per year of a mart against the latest release, within FLOWS_ROWCOUNT_TOLERANCE."""

    @asset_check(asset=AssetKey([descriptor.model]), name=f"{table}_row_counts_vs_latest_release", blocking=True,
                 description=f"Rows per year of {table} within FLOWS_ROWCOUNT_TOLERANCE of the latest release.")
    def _check(context: AssetCheckExecutionContext, settings: Settings) -> AssetCheckResult:
        tolerance = settings.rowcount_tolerance
        previous = read_latest(settings.output_path)
        previous_file = previous / f"{table}.parquet" if previous else None
        if previous_file is None or not previous_file.exists():
            return AssetCheckResult(passed=True, metadata={"previous_release": "none"})
        now = rows_by_year(settings.warehouse, descriptor.model)
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


def source_rows_check(contract: Contract) -> AssetChecksDefinition:
    """A vintage already published that comes back with fewer rows than its contract's row_tolerance
    allows (a producer's file cut short) stops everything built from it."""

    @asset_check(asset=raw_key(contract.id), name="rows_vs_latest_release", blocking=True,
                 description=f"No vintage of {contract.id} already published loses more than "
                 f"{contract.row_tolerance:.0%} of its rows (row_tolerance in sources/{contract.id}.yml).")
    def _check(context: AssetCheckExecutionContext, settings: Settings) -> AssetCheckResult:
        previous = read_latest(settings.output_path)  # a complete release (flows run repaired the pointer first)
        if previous is None:
            return AssetCheckResult(passed=True, metadata={"previous_release": "none"})
        provenance = json.loads((settings.raw_dir / f"{contract.id}.provenance.json").read_text(encoding="utf-8"))
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


def all_checks(plan: RunPlan) -> list[AssetChecksDefinition]:
    checks = [row_count_check(t, plan.descriptors[t]) for t in plan.published
              if plan.descriptors[t].format == "parquet" and plan.descriptors[t].row_count_check]
    checks += [source_rows_check(plan.contracts[s]) for s in plan.selected]
    return checks + ([set_aside_within_limit] if plan.counts_set_aside else [])
