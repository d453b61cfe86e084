"""Scheduled refresh: only what depends on a source changed since its last fetch is run; a
refresh where nothing changed runs nothing."""

from __future__ import annotations

import shutil

from dagster import AssetKey, SkipReason, build_schedule_context, build_sensor_context

from pipelines.contracts import load_contracts
from pipelines.raw import materialise_source

from .conftest import MIRROR


def fetch_everything(tmp_path):
    for contract in load_contracts().values():
        materialise_source(contract, out_dir=tmp_path / "raw")


def test_schedule_skips_when_nothing_changed_and_runs_what_depends_on_a_change(tmp_path, monkeypatch):
    from pipelines.definitions import defs, flows_weekly, source_changes

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    monkeypatch.setenv("FLOWS_MIRROR", str(mirror))
    first = flows_weekly(build_schedule_context())
    assert len(first.asset_selection) > 40  # never fetched: everything is new

    fetch_everything(tmp_path)  # what a run does
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

    from pipelines.refresh import changed_sources

    monkeypatch.setenv("FLOWS_MIRROR", mirror_url)
    contracts = load_contracts()
    assert changed_sources(contracts, ["insee_cog_regions"]) == ["insee_cog_regions"]
    materialise_source(contracts["insee_cog_regions"], out_dir=tmp_path / "raw")
    heads = []
    original = http.server.SimpleHTTPRequestHandler.do_HEAD

    def counting_head(self):
        heads.append(self.path)
        return original(self)

    monkeypatch.setattr(http.server.SimpleHTTPRequestHandler, "do_HEAD", counting_head)
    assert changed_sources(contracts, ["insee_cog_regions"]) == []
    assert len(heads) == 1 and heads[0].endswith("v_region_2026.csv")
