"""`flows-dbt`: dbt, started by `flows run` as a child that dies with it.

Killing `flows run` (even with SIGKILL) would otherwise leave its dbt child running and holding
the DuckDB warehouse, so that the next run fails on a lock held by a process nobody started. On
Linux the child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG, kept across
exec), then becomes dbt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def exec_as_child(program: str | Path, args: list[str]) -> None:
    """Become `program` (never returns), to receive SIGTERM when the parent process dies."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the child may outlive a killed parent, as plain dbt does
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(f"flows-dbt: the process that started {Path(program).name} is gone")
    os.execv(program, [str(program), *args])


def main() -> None:
    exec_as_child(Path(sys.executable).parent / "dbt", sys.argv[1:])
