"""The assets of the job, by layer: raw (one per source, and three tables derived in Python), the
dbt models (staging, intermediate, marts; dbt tests as asset checks), and the release."""

import json
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, MetadataValue, asset
from dagster_dbt import DbtCliResource, dbt_assets

from ..ingest.changes import build_fingerprint
from ..ingest.contracts import Contract
from ..ingest.fetch import FetchSettings
from ..ingest.groups import GROUPS_ID, materialise_groups
from ..ingest.raw import CENTROIDS_ID, CONTOURS_ID, PASSAGE_ID, materialise_centroids, materialise_passage, materialise_source
from ..parameters import model_parameter_defaults
from ..publish.release import publish
from ..settings import Settings
from ..warehouse.dbt_project import column_descriptions, dbt_environment, dbt_target_directory
from ..warehouse.set_aside import set_aside_report_path
from ..warehouse.state import forget_built_release, record_built_release
from .plan import GROUP_CODE_REFERENCES, PASSAGE_INPUTS, SET_ASIDE_MODEL, RunPlan


def raw_key(source_id: str) -> AssetKey:
    """A raw table's key; dbt's `raw` source names the same keys, which links the layers."""
    return AssetKey(["raw", source_id])


def raw_asset(contract: Contract) -> AssetsDefinition:
    @asset(
        key=raw_key(contract.id),
        group_name="raw",
        description=f"{contract.title} ({contract.producer}). Licence: {contract.licence}.",
        metadata={"landing_page": MetadataValue.url(contract.landing_page), "licence": contract.licence},
        kinds={"python", "parquet"},
    )
    def _raw(context: AssetExecutionContext, settings: Settings) -> MaterializeResult:
        provenance = materialise_source(contract, FetchSettings.from_settings(settings), settings.raw_dir)
        for v in provenance["vintages"]:
            context.log.info(f"{contract.id} {v['vintage']}: {v['rows']} rows from {v['url']} (sha256 {v['sha256'][:12]})")
        return MaterializeResult(metadata={
            "rows": provenance["rows"],
            "vintages": MetadataValue.json(provenance["vintages"]),
            "urls": MetadataValue.json([v["url"] for v in provenance["vintages"]]),
            "sha256": MetadataValue.json({str(v["vintage"]): v["sha256"] for v in provenance["vintages"]}),
        })

    return _raw


def derived_raw_assets(plan: RunPlan) -> list[AssetsDefinition]:
    @asset(key=raw_key(PASSAGE_ID), group_name="raw", deps=[raw_key(s) for s in PASSAGE_INPUTS], kinds={"python", "parquet"},
           description="Passage from the commune codes of every source geography year to the target COG.")
    def commune_passage(settings: Settings) -> MaterializeResult:
        summary = materialise_passage(plan.contracts, plan.target_cog, settings.raw_dir)
        return MaterializeResult(metadata={k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in summary.items()})

    @asset(key=raw_key(GROUPS_ID), group_name="raw", deps=[raw_key(s) for s in GROUP_CODE_REFERENCES],
           kinds={"python", "parquet"},
           description="Custom groups of communes from FLOWS_GROUPS (group_id, group_name, commune_code), e.g. "
           "the perimeter of one reciprocity contract; empty when FLOWS_GROUPS is not set.")
    def custom_groups(settings: Settings) -> MaterializeResult:
        return MaterializeResult(metadata=materialise_groups(settings.groups_file, settings.raw_dir))

    @asset(key=raw_key(CENTROIDS_ID), group_name="raw", deps=[raw_key(CONTOURS_ID)], kinds={"python", "parquet"},
           description="Centroid of each commune from the latest boundaries, for distances (empty without boundaries).")
    def commune_centroids(settings: Settings) -> MaterializeResult:
        return MaterializeResult(metadata=materialise_centroids(settings.raw_dir))

    return [commune_passage, custom_groups, commune_centroids]


def dbt_vars(plan: RunPlan, settings: Settings) -> dict:
    """The dbt vars of a run: the target geography, and the model parameters set by the user (the
    others keep their defaults of dbt_project.yml)."""
    return {"target_cog": plan.target_cog} | settings.model_parameters


def dbt_models_asset(plan: RunPlan) -> AssetsDefinition:
    @dbt_assets(manifest=plan.dbt.manifest_path, project=plan.dbt)
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, settings: Settings):
        # The dbt unit tests check code, not data: pytest runs them once (tests/test_dbt_unit.py).
        args = ["build", "--vars", json.dumps(dbt_vars(plan, settings)), "--exclude-resource-type", "unit_test"]
        forget_built_release(settings.data_path)  # from here the warehouse is no longer the latest release's
        with dbt_target_directory(settings) as target:
            with dbt_environment(settings):  # read by the dbt process when it starts
                invocation = dbt.cli(args, context=context, target_path=target)
            yield from invocation.stream()

    return dbt_models


def release_asset(plan: RunPlan) -> AssetsDefinition:
    deps = [AssetKey([plan.descriptors[t].model]) for t in plan.published]
    deps += [AssetKey([SET_ASIDE_MODEL])] if plan.counts_set_aside else []

    @asset(group_name="publish", deps=deps, kinds={"parquet"},
           description="Counts what was set aside (and blocks beyond FLOWS_MAX_QUARANTINE_SHARE), then writes a "
           "versioned release of the published tables with its manifest, then latest.json.")
    def release(context: AssetExecutionContext, settings: Settings) -> MaterializeResult:
        provenance = [json.loads((settings.raw_dir / f"{s}.provenance.json").read_text()) for s in plan.selected]
        run_settings = {"sources": plan.selected, "groups_file": Path(settings.groups_file or "").name} \
            | model_parameter_defaults() | dbt_vars(plan, settings)
        models = {t: plan.descriptors[t].model for t in plan.published}
        docs = {t: column_descriptions(plan.dbt.manifest_path, m) for t, m in models.items()}
        lineage = {t: sorted(plan.model_sources(m) & set(plan.selected)) for t, m in models.items()}
        report = set_aside_of_this_run(context, plan, settings)
        run_settings["group_codes_rebased"] = report.get("group_codes_rebased", [])
        timings, fingerprint = {}, build_fingerprint(settings)
        carried, carried_from = carried_tables(context, plan, settings)
        path, is_new = publish(settings.warehouse, plan.descriptors, plan.published, provenance, run_settings, settings.output_path,
                               column_docs=docs, table_sources=lineage, set_aside=report.get("set_aside"),
                               keep=settings.keep_releases, duckdb_config=settings.duckdb_config, timings=timings,
                               build={"fingerprint": fingerprint}, carried=carried, carried_from=carried_from)
        manifest = json.loads((path / "manifest.json").read_text())
        record_built_release(settings.data_path, manifest["release_id"], fingerprint)
        if is_new:
            context.log.info(f"published release {manifest['release_id']} to {path}")
        else:
            context.log.info(f"nothing changed since release {manifest['release_id']}: no new release")
        return MaterializeResult(metadata={
            "release_id": manifest["release_id"],
            "new_release": is_new,
            "path": str(path),
            "rows": MetadataValue.json({t: m["rows"] for t, m in manifest["tables"].items()}),
            "seconds_per_file": MetadataValue.json({f: round(s, 3) for f, s in timings.items()}),
            "carried_tables": MetadataValue.json(sorted(carried)),
        })

    return release


CARRY_FROM_TAG = "flows/carry_from"  # set by `flows run` on a run of what depends on changed sources


def carried_tables(context: AssetExecutionContext, plan: RunPlan, settings: Settings) -> tuple[set[str], Path | None]:
    """The published tables whose models this run did not rebuild, and the release to take their
    files from: only in a run that `flows run` limited to what depends on the changed sources,
    after checking that the warehouse held that release."""
    release_id = context.run.tags.get(CARRY_FROM_TAG)
    selection = context.run.asset_selection
    if not release_id or selection is None:
        return set(), None
    carried = {t for t in plan.published if AssetKey([plan.descriptors[t].model]) not in selection}
    return carried, settings.output_path / "releases" / release_id


def set_aside_of_this_run(context: AssetExecutionContext, plan: RunPlan, settings: Settings) -> dict:
    """What the set-aside check wrote in this run (set_aside, group_codes_rebased); empty when
    FLOWS_SOURCES leaves out sources it reads."""
    if not plan.counts_set_aside:
        context.log.warning("rows set aside are not counted: FLOWS_SOURCES leaves out sources the count reads")
        return {}
    return json.loads(set_aside_report_path(settings.data_path).read_text(encoding="utf-8"))


def all_assets(plan: RunPlan) -> list[AssetsDefinition]:
    raw = [raw_asset(c) for c in plan.contracts.values()]
    return raw + derived_raw_assets(plan) + [dbt_models_asset(plan), release_asset(plan)]
