"""The dbt unit tests (hand-computed cases of the re-basing macro, the housing-land allocation and
the electricity transfer) run here, once: they check code, not data, so `flows run` leaves them
out of its build (dbt's advice for production)."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.settings import Settings
from pipelines.warehouse.dbt_project import DBT_PROJECT_DIR, dbt_environment, prepared_dbt_project

DBT = str(Path(sys.executable).parent / "dbt")


def test_every_dbt_unit_test_passes(release, tmp_path):
    # dbt reads the column types of a unit test's inputs from the warehouse: a copy of the fixture run's
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(release.parent / "data1" / "warehouse.duckdb", data / "warehouse.duckdb")
    settings = Settings(data_dir=str(data), output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    declared = json.loads(Path(prepared_dbt_project().manifest_path).read_text())["unit_tests"]
    with dbt_environment(settings):
        environment = dict(os.environ)
    result = subprocess.run(
        [DBT, "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path)],
        env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]
    passed = re.findall(r"PASS (\S+) ", result.stdout)
    assert len(declared) >= 4 and len(passed) == len(declared), result.stdout[-4000:]
