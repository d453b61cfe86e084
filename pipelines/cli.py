"""`flows` command line: `flows run` materialises the whole job and publishes a release."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def dagster_home() -> Path:
    """A persistent Dagster instance under the data directory (run history), telemetry off."""
    from .raw import data_dir

    home = Path(os.environ.get("DAGSTER_HOME") or data_dir() / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run() -> int:
    os.environ.setdefault("DO_NOT_TRACK", "1")
    dagster_home()
    from dagster import DagsterInstance

    from .contracts import ContractError

    try:
        from .definitions import JOB_NAME, defs
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with DagsterInstance.get() as instance:
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("FLOWS_LOG_LEVEL", "INFO")}}}},
        )
    if result.success:
        from .publish import output_dir, read_latest

        print(f"published: {read_latest(output_dir())}")
        return 0
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.cause.message if error and error.cause else (error.message if error else "")
            print(f"error in {event.step_key}: {message.strip() or error.message.strip()}", file=sys.stderr)
    print("the run failed: nothing was published; the previous release is untouched", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flows", description="Territorial flows warehouse")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="fetch every source, build the warehouse and publish a release")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    return 2


if __name__ == "__main__":
    sys.exit(main())
