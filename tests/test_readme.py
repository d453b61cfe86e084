"""The README works as written: the blocks of its section "Try it on the fixture mirror" and of the
analysts' section run in order, from a copy of the project directory, and print what it shows.

Blocks fenced ```sh run in bash (a block ending with `&` stays in the background until the end),
```sql blocks run in one DuckDB connection (the result of the last statement is compared), ```python
blocks run with the project's interpreter (their standard output is compared); a ```text block
right after a block is its expected output. The set-up commands are fenced ```shell: they need the
network or are the test suite itself, and are not run here.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from .conftest import PROJECT

README = PROJECT / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
LINKED = ["Makefile", "pyproject.toml", "requirements.lock", ".venv", "tests", "site"]


def blocks() -> list[tuple[str, str, str | None]]:
    """(language, code, expected output) of each runnable block, in order."""
    found = [(m.group(1), m.group(2)) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]
    runnable = []
    for i, (language, code) in enumerate(found):
        if language in ("sh", "sql", "python"):
            following = found[i + 1] if i + 1 < len(found) else (None, None)
            runnable.append((language, code, following[1] if following[0] == "text" else None))
    return runnable


def same_table(expected: str, columns: list[str], rows: list[tuple]) -> None:
    """A whitespace-aligned table (header, then rows; NULL for null) equals a query result."""
    lines = [line.split() for line in expected.strip().splitlines()]
    assert lines[0] == columns
    assert len(lines) - 1 == len(rows), (lines, rows)
    for shown, row in zip(lines[1:], rows):
        assert len(shown) == len(row)
        for text, value in zip(shown, row):
            if value is None:
                assert text == "NULL"
            elif isinstance(value, float):
                assert float(text) == pytest.approx(value, abs=1e-6), (text, value)
            else:
                assert text == str(value)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while port_free(port):
        assert time.monotonic() < deadline, f"nothing listens on port {port}"
        time.sleep(0.2)


def test_readme_blocks_run_as_written(tmp_path):
    if not port_free(8000):
        pytest.skip("port 8000, which the README serves on, is taken on this machine")
    for name in LINKED:
        (tmp_path / name).symlink_to(PROJECT / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWS_")}
    env.update(FLOWS_PROGRESS="0", FLOWS_CACHE=str(tmp_path / ".flows_cache"))  # quiet, and no shared cache
    background = []
    con = duckdb.connect()
    runnable = blocks()
    assert [language for language, *_ in runnable].count("sh") >= 3 and any(l == "sql" for l, *_ in runnable)
    try:
        for language, code, expected in runnable:
            if language == "sh" and code.strip().endswith("&"):
                background.append(subprocess.Popen(["bash", "-c", code.strip()[:-1]], cwd=tmp_path, env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                   start_new_session=True))
                wait_for_port(int(re.search(r"--port (\d+)", code).group(1)))
            elif language == "sh":
                result = subprocess.run(["bash", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                                        timeout=900)
                assert result.returncode == 0, (code, result.stderr[-3000:])
                assert "Traceback" not in result.stderr
            elif language == "sql":
                os.chdir(tmp_path)
                try:
                    statements = [s for s in code.split(";") if s.strip()]
                    for statement in statements[:-1]:
                        con.execute(statement)
                    relation = con.execute(statements[-1])
                    columns, rows = [d[0] for d in relation.description], relation.fetchall()
                finally:
                    os.chdir(PROJECT)
                assert rows, code
                if expected:
                    same_table(expected, columns, rows)
            else:
                result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                                        text=True, timeout=300)
                assert result.returncode == 0, (code, result.stderr[-3000:])
                if expected:
                    assert result.stdout.strip() == expected.strip()
    finally:
        for process in background:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    assert (tmp_path / "published" / "latest.json").exists()  # the README's run wrote where its queries read
    assert not (PROJECT / "published").is_symlink()


def test_the_readme_lists_every_setting_as_settings_defines_it():
    from pipelines.settings import readme_table

    assert readme_table() in README.read_text(encoding="utf-8")


def test_only_the_settings_module_reads_flows_variables():
    """One place reads the configuration: a FLOWS_* name read anywhere else in the code is a
    setting the README's table and `Settings` do not know."""
    import re

    readers = re.compile(r"""(os\.environ|getenv)[^\n]*["']FLOWS_""")
    offenders = [str(p.relative_to(PROJECT)) for p in (PROJECT / "pipelines").rglob("*.py")
                 if p.name != "settings.py" and readers.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
