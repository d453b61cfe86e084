"""Scheduled refresh: the change-detection sensor runs only what depends on a changed source."""

from __future__ import annotations

import shutil

from dagster import AssetKey, build_sensor_context

from .conftest import MIRROR


def test_sensor_runs_only_what_depends_on_a_changed_source(tmp_path, monkeypatch, mirror_url):
    from pipelines.definitions import defs, source_changes

    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    monkeypatch.setenv("FLOWS_MIRROR", str(mirror))
    first = source_changes(build_sensor_context(cursor=None, definitions=defs))
    assert len(first.run_requests) == 1  # first evaluation: everything is new
    unchanged = source_changes(build_sensor_context(cursor=first.cursor, definitions=defs))
    assert unchanged.run_requests == [] and "no source changed" in str(unchanged.skip_reason)

    regions = next(mirror.rglob("v_region_2026.csv"))  # the producer publishes a corrected file
    regions.write_text(regions.read_text().replace("Corse", "Collectivité de Corse"))
    changed = source_changes(build_sensor_context(cursor=unchanged.cursor, definitions=defs))
    (request,) = changed.run_requests
    keys = set(request.asset_selection)
    assert AssetKey(["raw", "insee_cog_regions"]) in keys and AssetKey(["territories"]) in keys
    assert AssetKey(["release"]) in keys
    assert AssetKey(["raw", "insee_mobpro_flux"]) not in keys  # other sources are not fetched again
    assert AssetKey(["commuting_flows"]) not in keys  # flows do not read région names
    assert request.tags["changed_sources"] == "insee_cog_regions"


def test_http_sources_are_asked_with_head_requests(monkeypatch, mirror_url):
    from pipelines.contracts import load_contracts
    from pipelines.refresh import source_signatures

    monkeypatch.setenv("FLOWS_MIRROR", mirror_url)
    signatures = source_signatures(load_contracts(), ["insee_cog_regions"])
    (sig,) = signatures["insee_cog_regions"].values()
    assert sig.startswith("status=200;") and "modified=" in sig and "size=184" in sig
    assert source_signatures(load_contracts(), ["insee_cog_regions"]) == signatures
