"""Scheduled refresh: only what depends on a source changed since its last fetch is run; a
refresh where nothing changed runs nothing."""

from __future__ import annotations

import shutil

from dagster import AssetKey, DagsterInstance, SkipReason, build_schedule_context, build_sensor_context

from pipelines.ingest.contracts import load_contracts
from pipelines.ingest.fetch import FetchSettings
from pipelines.ingest.raw import materialise_source
from pipelines.orchestration.automation import JOB_NAME
from pipelines.orchestration.definitions import build_definitions
from pipelines.settings import Settings

from .conftest import MIRROR


def settings_for(mirror, data, output, cache) -> Settings:
    return Settings.from_env({"FLOWS_MIRROR": str(mirror), "FLOWS_DATA": str(data), "FLOWS_OUTPUT": str(output),
                              "FLOWS_CACHE": str(cache), "FLOWS_OFFLINE": "1", "FLOWS_PROGRESS": "0"})


def test_schedule_skips_when_nothing_changed_and_runs_what_depends_on_a_change(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    settings = settings_for(mirror, tmp_path / "data", tmp_path / "out", tmp_path / "cache")
    defs = build_definitions(settings)
    flows_weekly, source_changes = defs.resolve_schedule_def("flows_weekly"), defs.resolve_sensor_def("source_changes")
    first = flows_weekly(build_schedule_context())
    assert len(first.asset_selection) > 40  # never fetched: everything is new

    for contract in load_contracts().values():  # what a run does
        materialise_source(contract, FetchSettings.from_settings(settings), settings.raw_dir)
    nothing = flows_weekly(build_schedule_context())
    assert isinstance(nothing, SkipReason) and "no source changed" in str(nothing)
    assert isinstance(source_changes(build_sensor_context(definitions=defs)), SkipReason)

    regions = next(mirror.rglob("v_region_2026.csv"))  # the producer publishes a corrected file
    regions.write_text(regions.read_text().replace("Corse", "Collectivité de Corse"))
    request = flows_weekly(build_schedule_context())
    keys = set(request.asset_selection)
    assert AssetKey(["raw", "insee_cog_regions"]) in keys and AssetKey(["territories"]) in keys
    assert AssetKey(["release"]) in keys
    assert AssetKey(["raw", "insee_mobpro_flux"]) not in keys  # other sources are not fetched again
    assert AssetKey(["commuting_flows"]) not in keys  # flows do not read région names
    assert request.tags["changed_sources"] == "insee_cog_regions"
    again = source_changes(build_sensor_context(definitions=defs))
    assert again.run_key == request.run_key  # the sensor asks for the same run: Dagster runs it once


def test_http_sources_are_asked_with_head_requests(tmp_path, monkeypatch, mirror_url):
    import http.server

    from pipelines.ingest.changes import changed_sources

    settings = FetchSettings(mirror=mirror_url, offline=True, cache_dir=tmp_path / "cache", progress=False)
    contracts = load_contracts()
    assert changed_sources(contracts, ["insee_cog_regions"], settings) == ["insee_cog_regions"]
    materialise_source(contracts["insee_cog_regions"], settings, tmp_path / "raw")
    heads = []
    original = http.server.SimpleHTTPRequestHandler.do_HEAD

    def counting_head(self):
        heads.append(self.path)
        return original(self)

    monkeypatch.setattr(http.server.SimpleHTTPRequestHandler, "do_HEAD", counting_head)
    assert changed_sources(contracts, ["insee_cog_regions"], settings) == []
    assert len(heads) == 1 and heads[0].endswith("v_region_2026.csv")


def test_changing_one_source_republishes_only_what_depends_on_it(tmp_path):
    from .conftest import latest, releases, run_flows

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    data, out = tmp_path / "data", tmp_path / "out"
    first = run_flows(str(mirror), data, out)
    assert first.returncode == 0, first.stderr[-2000:]
    before = latest(out)
    regions = next(mirror.rglob("v_region_2026.csv"))
    regions.write_text(regions.read_text().replace("Corse", "Collectivité de Corse"))
    defs = build_definitions(settings_for(mirror, data, out, tmp_path / "cache"))  # the cache run_flows used (conftest)
    request = defs.resolve_schedule_def("flows_weekly")(build_schedule_context())
    result = defs.resolve_job_def(JOB_NAME).execute_in_process(
        instance=DagsterInstance.ephemeral(), asset_selection=request.asset_selection, raise_on_error=False)
    assert result.success
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw/insee_cog_regions", "territories", "release"} <= built
    assert not {"raw/insee_mobpro_flux", "raw/cerema_enaf", "commuting_flows", "int_commuting_flows_commune"} & built
    after = latest(out)
    assert after != before and len(releases(out)) == 2
    assert (after / "commuting_flows.parquet").read_bytes() == (before / "commuting_flows.parquet").read_bytes()
    assert (after / "territories.parquet").read_bytes() != (before / "territories.parquet").read_bytes()
