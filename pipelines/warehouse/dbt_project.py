"""The dbt project as Dagster sees it: a `DbtProject` whose manifest is parsed again whenever a
model, macro, test or seed is newer than it, the environment dbt's profile and sources read, and
which models a run can build from the manifest's lineage and the sources at hand."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_dbt import DbtCliResource, DbtProject, DbtProjectPreparer
from dagster_dbt.compat import DBT_PYTHON_VERSION
from dagster_shared.record import replace

from ..ingest.contracts import PROJECT_ROOT

if TYPE_CHECKING:
    from ..settings import Settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


class FlowsDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource without two costs it pays at every invocation and this project
    never uses: `dbt --version` in a subprocess (the dbt run is this environment's dbt-core, whose
    version is known) and an in-process dbt adapter (only needed to fetch column metadata or row
    counts from the warehouse, which the project does not do). About 2.5 s per run."""

    @property
    def _cli_version(self):
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args):
        return None


class ManifestFollowsTheFiles(DbtProjectPreparer):
    """A preparer that parses whenever the manifest is older than a model, macro, test, seed or
    dbt_project.yml, also outside `dagster dev`: dagster-dbt's own parses only under `dagster dev`
    and expects a manifest built at deploy time otherwise, but `flows run` runs from a source
    checkout. The parse runs in this process (no dbt on the PATH needed), one process at a time:
    a second one waits for the first one's manifest."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if manifest_is_stale(project):
            self.prepare(project)

    def prepare(self, project: DbtProject) -> None:
        manifest = Path(project.manifest_path)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with open(manifest.parent / "parse.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not manifest_is_stale(project):
                return  # parsed by another process while this one waited
            from dbt.cli.main import dbtRunner

            result = dbtRunner().invoke(["parse", "--quiet", "--no-send-anonymous-usage-stats", "--project-dir",
                                         str(project.project_dir), "--profiles-dir", str(project.profiles_dir)])
            if not result.success:
                raise RuntimeError(f"dbt parse failed: {result.exception}")


def manifest_is_stale(project: DbtProject) -> bool:
    directory = Path(project.project_dir)
    inputs = [p for d in ("models", "macros", "tests", "seeds") for p in (directory / d).rglob("*") if p.is_file()]
    inputs.append(directory / "dbt_project.yml")
    manifest = Path(project.manifest_path)
    return not manifest.exists() or manifest.stat().st_mtime < max(p.stat().st_mtime for p in inputs)


def prepared_dbt_project() -> DbtProject:
    """The project with an up-to-date manifest."""
    project = replace(DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
                      preparer=ManifestFollowsTheFiles())
    project.prepare_if_dev()
    return project


@contextlib.contextmanager
def dbt_environment(settings: Settings):
    """What dbt's profile and sources read from their environment (the raw Parquet directory, the
    DuckDB file, its memory limit and spill directory), set while a dbt process is started, then
    restored. A run restricted by FLOWS_SOURCES builds some models only: a test runs only when
    all the models it reads are built (indirect selection `cautious`; dbt's `eager` would run it on
    a missing table)."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    values = {
        "FLOWS_RAW_DIR": str(settings.raw_dir),
        "FLOWS_WAREHOUSE": str(settings.warehouse),
        "FLOWS_DUCKDB_MEMORY_LIMIT": settings.memory_limit,
        "FLOWS_DUCKDB_THREADS": str(settings.threads),
        "FLOWS_DUCKDB_TEMP_DIRECTORY": str(fresh_temp_directory(settings.data_path)),
        "DBT_INDIRECT_SELECTION": "cautious",
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def dbt_target_directory(settings: Settings):
    """Where one dbt invocation writes its artifacts (compiled SQL, run results), emptied before and
    removed after: dagster-dbt's default, a new directory per run inside the project, grows
    without end on a scheduled machine."""
    target = emptied(settings.data_path / "dbt_target")
    try:
        yield target
    finally:
        shutil.rmtree(target, ignore_errors=True)


def fresh_temp_directory(data: Path) -> Path:
    """DuckDB's spill directory under the data directory, emptied (call it holding the run lock):
    what a killed run left there is never read again."""
    shutil.rmtree(data / "warehouse.duckdb.tmp", ignore_errors=True)  # DuckDB's default, used by earlier versions
    return emptied(data / "duckdb_tmp")


def emptied(directory: Path) -> Path:
    """`directory`, created empty (what was in it removed)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


@cache
def _manifest(manifest_path: str) -> dict:
    """dbt's manifest, read once per process."""
    return json.loads(Path(manifest_path).read_text())


@cache
def _lineage(manifest_path: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    manifest = _manifest(manifest_path)
    names = {uid: node["name"] for uid, node in {**manifest["nodes"], **manifest["sources"]}.items()}
    return manifest["parent_map"], names


def upstream_sources(manifest_path: str | Path, model_uid: str) -> set[str]:
    parents, names = _lineage(str(manifest_path))
    found, stack, seen = set(), [model_uid], set()
    while stack:
        uid = stack.pop()
        for parent in parents.get(uid, []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent.startswith("source."):
                found.add(names[parent])
            else:
                stack.append(parent)
    return found


def models_allowed(manifest_path: str | Path, available_sources: set[str]) -> set[str]:
    """Names of the models whose raw sources are all available."""
    parents, names = _lineage(str(manifest_path))
    return {
        names[uid]
        for uid in parents
        if uid.startswith("model.") and upstream_sources(manifest_path, uid) <= available_sources
    }


def column_descriptions(manifest_path: str | Path, model: str) -> dict[str, str]:
    """Column name -> description, from the model's YAML as compiled into dbt's manifest."""
    for node in _manifest(str(manifest_path))["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == model:
            return {name: column.get("description", "") for name, column in node["columns"].items()}
    return {}


def model_keys(manifest_path: str | Path) -> dict[str, tuple[str, ...]]:
    """Model name -> its key: the columns of its `unique_key` test, the one statement of its grain."""
    nodes = _manifest(str(manifest_path))["nodes"]
    return {nodes[node["attached_node"]]["name"]: tuple(node["test_metadata"]["kwargs"]["columns"])
            for node in nodes.values()
            if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "unique_key"}


def model_sources(manifest_path: str | Path, model: str) -> set[str]:
    """The raw sources a model is built from, through all its parents."""
    _, names = _lineage(str(manifest_path))
    uid = next(u for u, n in names.items() if u.startswith("model.") and n == model)
    return upstream_sources(manifest_path, uid)


def unusable_selection(selected: set[str], table_needs: dict[str, set[str]]) -> str | None:
    """Why a FLOWS_SOURCES selection cannot do what it asks, or None when it can.

    table_needs: published table -> the source ids it is built from. A selection publishes the
    tables whose sources it holds all of; a selected source that reaches no such table, or a
    selection that reaches none at all, is named with the sources it lacks.
    """
    reachable = {t for t, needs in table_needs.items() if needs <= selected}
    problems = []
    for source in sorted(selected):
        tables = {t: needs - selected for t, needs in table_needs.items() if source in needs}
        if tables and not any(t in reachable for t in tables):
            table, missing = min(tables.items(), key=lambda item: (len(item[1]), item[0]))
            problems.append(f"{source} feeds {', '.join(sorted(tables))}; {table} also needs {', '.join(sorted(missing))}")
    if not reachable:
        smallest = min(table_needs.items(), key=lambda item: (len(item[1] - selected), item[0]))
        problems.append(f"no published table can be built; the nearest, {smallest[0]}, "
                        f"needs {', '.join(sorted(smallest[1] - selected))}")
    if not problems:
        return None
    return ("FLOWS_SOURCES lacks required sources: " + "; ".join(problems)
            + ". Add them to FLOWS_SOURCES, or leave it empty to run every source.")
