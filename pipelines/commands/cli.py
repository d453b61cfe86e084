"""`flows` command line: `flows run` materialises the whole job and publishes a release."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import time
import sys
from pathlib import Path


def dagster_home(data: Path) -> Path:
    """A persistent Dagster instance under the data directory (run history), telemetry off."""
    home = Path(os.environ.get("DAGSTER_HOME") or data / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


class WarehouseBusy(RuntimeError):
    pass


@contextlib.contextmanager
def warehouse_lock(directory: Path, wait: float):
    """One run at a time on a data directory: the DuckDB warehouse has a single writer. A second
    run waits `wait` seconds (FLOWS_LOCK_WAIT) for the first, then refuses."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "flows.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise WarehouseBusy(
                        f"another run holds the warehouse in {directory} ({holder}); "
                        "wait for it to finish, or set FLOWS_LOCK_WAIT=<seconds> to queue behind it"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def run() -> int:
    from ..settings import Settings, SettingsError

    try:  # every setting is checked before the run starts
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with warehouse_lock(settings.data_path, settings.lock_wait_seconds):
            return _run_job(settings)
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ValueError as exc:  # a malformed contract (ContractError), a FLOWS_SOURCES or FLOWS_TARGET_COG it refuses
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run_job(settings) -> int:
    from ..publish.release import heal_latest, read_latest, remove_abandoned_staging

    repaired = heal_latest(settings.output_path)
    if repaired:
        print(f"warning: {repaired}", file=sys.stderr)
    if (settings.output_path / "releases").is_dir():
        remove_abandoned_staging(settings.output_path / "releases")  # what a killed run left half-written
    before = read_latest(settings.output_path)
    changed = _sources_changed_since(settings, before) if before is not None else None
    if changed == []:
        print(f"nothing changed: no new release; latest is still {before} (the same source files, code and "
              "settings: nothing fetched or rebuilt)")
        return 0
    from dagster import DagsterInstance

    from ..orchestration.automation import JOB_NAME
    from ..orchestration.definitions import build_definitions
    from ..orchestration.plan import RunPlan

    plan = RunPlan.from_settings(settings)
    defs = build_definitions(settings, plan)
    selection, tags = _incremental_selection(plan, defs, before, changed)
    with DagsterInstance.from_config(str(dagster_home(settings.data_path))) as instance:
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": settings.log_level}}}},
            asset_selection=selection,
            tags=tags,
        )
    print_set_aside(settings.data_path, result.run_id, failed=not result.success)
    if result.success:
        after = read_latest(settings.output_path)
        if after == before:
            print(f"nothing changed: no new release; latest is still {after}")
        else:
            print(f"published: {after}")
        return 0
    fetch_failed = False
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.asset_check_evaluation_data.passed:
            evaluation = event.asset_check_evaluation_data
            print(f"check failed: {evaluation.check_name}: {evaluation.description or ''}", file=sys.stderr)
        if event.is_step_failure:
            error = event.step_failure_data.error
            root = error.cause if error and error.cause else error
            if root and root.cls_name == "DagsterAssetCheckFailedError":
                continue  # said above, with the check's own description
            message = (root.message if root else "").strip() or (error.message.strip() if error else "")
            message = re.sub(r"^[\w.]+\.(\w+Error|HostUnreachable): ", "", message)  # the class is noise here
            fetch_failed |= bool(root) and root.cls_name in ("FetchError", "HostUnreachable")
            print(f"error in {event.step_key}: {message}", file=sys.stderr)
    if fetch_failed:
        print(NETWORK_HINT, file=sys.stderr)
    print("the run failed: nothing was published; the previous release is untouched", file=sys.stderr)
    return 1


def _sources_changed_since(settings, release: Path) -> list[str] | None:
    """The sources that changed since `release` was built; None when it was built with other code
    or settings (pipelines.ingest.changes.sources_changed_since)."""
    from ..ingest.changes import sources_changed_since
    from ..ingest.contracts import load_contracts, selected_source_ids

    contracts = load_contracts()
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    return sources_changed_since(manifest, contracts, selected_source_ids(list(contracts), settings.sources), settings)


def _incremental_selection(plan, defs, before: Path | None, changed: list[str] | None) -> tuple[list | None, dict]:
    """When only some sources changed and the warehouse still holds the latest release: the assets
    that depend on them (the rest is kept as it is, and the release takes the files of the tables
    not rebuilt from the latest one), with the run's tags. Otherwise everything (None)."""
    from ..ingest.changes import build_fingerprint
    from ..orchestration.assets import CARRY_FROM_TAG
    from ..orchestration.automation import refresh_selection
    from ..warehouse.state import holds_release

    settings = plan.settings
    if not changed or not holds_release(settings.data_path, settings.warehouse, before.name, build_fingerprint(settings)):
        return None, {}
    raw = [settings.raw_dir / f"{s}.{ext}" for s in plan.selected for ext in ("parquet", "provenance.json")]
    if not all(p.is_file() for p in raw + [settings.raw_dir / f"{s}.parquet" for s in plan.derived]):
        return None, {}
    selection = refresh_selection(plan, list(defs.assets), changed)
    print(f"changed since release {before.name}: {', '.join(changed)}; only the {len(selection)} assets "
          "that depend on them are rebuilt")
    return selection, {CARRY_FROM_TAG: before.name, "changed_sources": ",".join(changed)}


NETWORK_HINT = (
    "hint: some producers' files could not be downloaded. Without the network, point FLOWS_MIRROR at a "
    "directory or URL holding copies (<mirror>/<host>/<path>) and set FLOWS_OFFLINE=1; behind a proxy, "
    "set HTTPS_PROXY=http://host:port (and HTTP_PROXY for http URLs)."
)


def print_set_aside(data: Path, run_id: str, failed: bool) -> None:
    """The set-aside summary this run wrote (none when it stopped before counting)."""
    from ..warehouse.set_aside import report_lines, set_aside_report_path

    path = set_aside_report_path(data)
    report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if report.get("run_id") == run_id:
        lines = report_lines(report["set_aside"]) + report.get("group_codes_rebased", [])
        print("\n".join(lines), file=sys.stderr if failed else sys.stdout)


def info(output: Path) -> int:
    """Print the tables of the latest release with rows, columns and licence."""
    from ..publish.release import LatestPointerError, complete_releases, read_latest

    try:
        current = read_latest(output)
    except LatestPointerError as exc:
        newest = complete_releases(output)
        if not newest:
            print(f"error: {exc}; and no complete release is there", file=sys.stderr)
            return 1
        current = newest[-1]
        print(f"warning: {exc}; showing the newest complete release ({current.name}); "
              "the next `flows run` repairs latest.json", file=sys.stderr)
    if current is None:
        print(f"error: no latest.json in {output}: nothing published there yet", file=sys.stderr)
        return 1
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    print(f"release {manifest['release_id']} ({current})")
    print(f"target geography: COG {manifest['settings']['target_cog']}")
    if manifest.get("set_aside") is not None:
        from ..warehouse.set_aside import report_lines

        print("\n".join(report_lines(manifest["set_aside"])))
    for name, table in manifest["tables"].items():
        print(f"\n{name}: {table['title']}")
        print(f"  {table['rows']} rows, {len(table['columns'])} columns; grain: {table['grain']}")
        print(f"  licence: {table['licence']}")
        print("  columns: " + ", ".join(c["name"] for c in table["columns"]))
    return 0


def serve(output: Path, port: int, host: str) -> int:
    from ..settings import Settings
    from .serve import make_server

    if not output.is_dir():
        print(f"error: {output} is not a directory", file=sys.stderr)
        return 1
    server = make_server(output, port, host, quiet=Settings.from_env().serve_quiet)
    print(f"serving {output} on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def dossier(args) -> int:
    from .dossier import (DossierError, dossier_file_name, open_release, pair_dossier, perimeter_dossier,
                          write_dossier)
    from ..settings import Settings

    try:
        release = open_release(args.release or Settings.from_env().output_path)
        if args.group:
            if len(args.codes) > 1:
                raise DossierError("with --group FILE, give at most one group id (the perimeter in FILE)")
            data = perimeter_dossier(release, args.group, args.codes[0] if args.codes else None, args.surroundings)
        elif len(args.codes) != 2:
            raise DossierError("give two territory codes (A B), or --group FILE for a contract's perimeter")
        else:
            data = pair_dossier(release, *args.codes, args.level)
        path = write_dossier(data, args.out or Path(f"{dossier_file_name(data)}.html"), args.xlsx)
    except DossierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"dossier written to {path}" + (f", workbook to {args.xlsx}" if args.xlsx else ""))
    return 0


def dossiers(args) -> int:
    from .dossier import DossierError, open_release, write_dossiers
    from ..settings import Settings

    try:
        release = open_release(args.release or Settings.from_env().output_path)
        index, entries = write_dossiers(release, args.pairs, args.out, args.xlsx)
    except DossierError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    failed = [e for e in entries if e["error"]]
    print(f"{len(entries) - len(failed)} dossiers written to {args.out} (index: {index})")
    for e in failed:
        print(f"error: {args.pairs} line {e['line']} ({e['code_a']}, {e['code_b']}): {e['error']}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flows", description="Territorial flows warehouse")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="fetch every source, build the warehouse and publish a release")
    info_parser = commands.add_parser("info", help="list the tables of the latest release")
    info_parser.add_argument("output", type=Path, help="a published directory (FLOWS_OUTPUT)")
    serve_parser = commands.add_parser("serve", help="serve a published directory over HTTP with range requests")
    serve_parser.add_argument("output", type=Path, help="a published directory (FLOWS_OUTPUT)")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--host", default="127.0.0.1")
    dossier_parser = commands.add_parser("dossier", help="write the French HTML dossier of two territories")
    dossier_parser.add_argument("codes", nargs="*", metavar="CODE",
                                help="territories A and B (commune, EPCI, group... codes); with --group, the group id")
    dossier_parser.add_argument("--group", type=Path, metavar="FILE",
                                help="a contract's perimeter (group_id,group_name,commune_code, as FLOWS_GROUPS) "
                                     "against the rest of its surroundings")
    dossier_parser.add_argument("--surroundings", choices=["departement", "region", "epci"], default="departement",
                                help="with --group: the other communes of the départements (default), régions or "
                                     "EPCI that the perimeter touches")
    dossier_parser.add_argument("--level", choices=["commune", "epci", "group", "departement", "region"],
                                help="the level, when a code names territories at several levels")
    dossier_parser.add_argument("--release", help="a published directory or its HTTP base (following latest.json), "
                                "or one release directory; default FLOWS_OUTPUT")
    dossier_parser.add_argument("--out", type=Path, help="the HTML file to write (default dossier_<A>_<B>.html)")
    dossier_parser.add_argument("--xlsx", type=Path, help="also write the figures as a workbook (French headers)")
    batch_parser = commands.add_parser("dossiers", help="write one dossier per pair of a CSV file, and an index page")
    batch_parser.add_argument("pairs", type=Path, help="CSV with a header: code_a,code_b[,level]")
    batch_parser.add_argument("--out", type=Path, required=True, help="the directory to write the dossiers into")
    batch_parser.add_argument("--release", help="as for flows dossier; default FLOWS_OUTPUT")
    batch_parser.add_argument("--xlsx", action="store_true", help="also write each dossier's workbook")
    args = parser.parse_args(argv)
    if args.command == "dossier":
        return dossier(args)
    if args.command == "dossiers":
        return dossiers(args)
    if args.command == "run":
        return run()
    if args.command == "info":
        return info(args.output)
    return serve(args.output, args.port, args.host)


if __name__ == "__main__":
    sys.exit(main())
