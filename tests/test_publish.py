"""Release ids and retention."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines.publish.release import apply_retention, next_release_id, release_ids


def make_releases(out, ids, latest):
    for i in ids:
        (out / "releases" / i).mkdir(parents=True)
        (out / "releases" / i / "manifest.json").write_text("{}")  # written last: the release is complete
    (out / "latest.json").write_text(json.dumps({"release_id": latest, "path": f"releases/{latest}"}))


def test_same_day_ids_sort_as_text(tmp_path):
    day = date(2026, 11, 23)
    ids = []
    for _ in range(12):
        ids.append(next_release_id(tmp_path / "releases", day))
        (tmp_path / "releases" / ids[-1]).mkdir(parents=True)
    assert ids[:3] == ["2026.11.23", "2026.11.23.02", "2026.11.23.03"]
    assert sorted(ids) == ids
    assert next_release_id(tmp_path / "releases", date(2026, 12, 1)) > ids[-1]


def test_retention_keeps_the_newest_and_the_latest_pointer(tmp_path):
    make_releases(tmp_path, ["2026.01.01", "2026.02.01", "2026.03.01", "2026.04.01"], latest="2026.01.01")
    assert apply_retention(tmp_path, keep=2) == ["2026.02.01"]
    assert release_ids(tmp_path) == ["2026.01.01", "2026.03.01", "2026.04.01"]  # a rolled-back latest survives


def test_retention_is_off_unless_set(tmp_path):
    make_releases(tmp_path, ["2026.01.01", "2026.02.01"], latest="2026.02.01")
    assert apply_retention(tmp_path, keep=None) == [] and len(release_ids(tmp_path)) == 2
    with pytest.raises(ValueError, match="at least 1"):
        apply_retention(tmp_path, keep=0)


def test_csv_copies_defuse_spreadsheet_formulas(tmp_path):
    import csv
    import io
    import zipfile

    import duckdb

    from pipelines.publish.docs import write_csv_zip

    con = duckdb.connect()
    con.execute("""create table t as select * from (values
        ('=HYPERLINK(\"http://x\")', -4.5), ('+33 1', 1.0), ('-rm', 2.0), ('@SUM(A1)', 3.0), ('Saint-Ouen', -0.5))
        as v(name, value)""")
    info = write_csv_zip(con, "t", ("name",), tmp_path / "t.csv.zip")
    with zipfile.ZipFile(tmp_path / "t.csv.zip") as archive:
        assert archive.namelist() == ["t.csv"]
        text = archive.read("t.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "value"]
    assert sorted(rows[1:]) == sorted([["'+33 1", "1.0"], ["'-rm", "2.0"], ["'=HYPERLINK(\"http://x\")", "-4.5"],
                                       ["'@SUM(A1)", "3.0"], ["Saint-Ouen", "-0.5"]])
    assert info["file"] == "t.csv.zip" and len(info["sha256"]) == 64


def test_abandoned_staging_of_dead_runs_is_removed(tmp_path):
    import os

    from pipelines.publish.release import remove_abandoned_staging

    releases = tmp_path / "releases"
    dead = releases / ".tmp-2026.01.01-999999999"
    alive = releases / f".tmp-2026.01.01-{os.getpid()}"
    for d in (dead, alive):
        d.mkdir(parents=True)
    remove_abandoned_staging(releases)
    assert not dead.exists() and alive.exists()


def test_a_table_too_long_for_a_spreadsheet_gets_no_csv_copy_and_its_card_says_how_to_take_a_subset(tmp_path, monkeypatch):
    import duckdb

    from pipelines.publish import release
    from pipelines.publish.release import TableDescriptor, publish

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table long_t as select 'epci' as level, range as n from range(5)")
        con.execute("create table short_t as select 'epci' as level, range as n from range(2)")
    monkeypatch.setattr(release, "SPREADSHEET_LINES", 4)  # a header and three rows
    descriptors = {t: TableDescriptor(t, t, t, "", ("level", "n")) for t in ("long_t", "short_t")}
    path, _ = publish(warehouse, descriptors, ["long_t", "short_t"], [], {"target_cog": 2026}, tmp_path / "out")
    assert (path / "short_t.csv.zip").exists() and not (path / "long_t.csv.zip").exists()
    assert (path / "long_t.parquet").exists()
    card = (path / "long_t.README.md").read_text()
    assert "no CSV copy: its 5 rows exceed" in card and "WHERE level = 'epci'" in card
    assert "no CSV copy" not in (path / "short_t.README.md").read_text()
