"""Issue 9, hardening: inputs and faults that must not give wrong figures with exit code 0."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.contracts import ContractError, load_contract, load_contracts
from pipelines.ingest.fetch import mirror_location
from pipelines.ingest.parse import parse_file

from .conftest import GROUPS, MIRROR, latest, rewrite_csv_member, run_flows

CONTRACTS = load_contracts()


def fixture_path(source_id: str, vintage: int) -> Path:
    return Path(mirror_location(str(MIRROR), CONTRACTS[source_id].vintage(vintage).url))


def release_files(out: Path) -> dict:
    return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}


# --- 1. keys are unique where the producer says so ------------------------------------------

def test_every_ledger_source_names_its_key():
    keyed = {c.id for c in CONTRACTS.values() if c.key}
    assert {"insee_mobpro_flux", "cerema_enaf", "insee_emploi_pop_active", "urssaf_effectifs_commune",
            "ore_conso_elec_gaz", "insee_epci", "insee_populations_legales"} <= keyed


def test_a_key_outside_the_columns_is_a_contract_error(tmp_path):
    text = (Path("sources") / "insee_cog_regions.yml").read_text().replace("key: [region_code]", "key: [region]")
    broken = tmp_path / "insee_cog_regions.yml"
    broken.write_text(text)
    with pytest.raises(ContractError, match="key columns"):
        load_contract(broken)


def test_repeated_keys_point_at_the_first_row(tmp_path):
    contract = CONTRACTS["insee_mobpro_flux"]
    vintage = contract.vintage(2022)
    def repeat_first_row(text):
        lines = text.splitlines()
        return "\r\n".join(lines + [lines[1].replace("75101", " 75101 ")]) + "\r\n"

    doubled = rewrite_csv_member(fixture_path("insee_mobpro_flux", 2022), repeat_first_row, tmp_path / "flux.zip")
    frame = parse_file(contract, vintage, doubled)
    assert frame.filter(pl.col("duplicate_of_row").is_not_null())["duplicate_of_row"].to_list() == [2]
    assert frame["duplicate_of_row"].null_count() == frame.height - 1


def doubled_mirror(tmp_path: Path, source_id: str, vintage: int) -> Path:
    """The fixture mirror with every data row of one producer file written twice."""
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    target = Path(mirror_location(str(mirror), CONTRACTS[source_id].vintage(vintage).url))
    def twice(text):
        lines = text.splitlines()
        return "\r\n".join(lines + lines[1:]) + "\r\n"

    if zipfile.is_zipfile(target):
        rewrite_csv_member(target, twice)
    else:
        target.write_text(twice(target.read_text(encoding="utf-8")), encoding="utf-8")
    return mirror


@pytest.mark.parametrize("source_id,vintage", [("insee_mobpro_flux", 2022), ("cerema_enaf", 2024)])
def test_a_doubled_producer_file_never_doubles_the_figures(source_id, vintage, release, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(release, out)
    before = release_files(out)
    result = run_flows(str(doubled_mirror(tmp_path, source_id, vintage)), tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS))
    assert result.returncode == 1
    assert "publication blocked" in result.stderr and f"{source_id} {vintage}:" in result.stderr
    assert "duplicate key, first at row" in result.stderr
    assert release_files(out) == before  # the last release, byte for byte


@pytest.mark.parametrize("source_id,vintage", [(c.id, v.vintage) for c in CONTRACTS.values() if c.key for v in c.vintages])
def test_fixture_files_hold_each_key_once(source_id, vintage):
    contract = CONTRACTS[source_id]
    frame = parse_file(contract, contract.vintage(vintage), fixture_path(source_id, vintage))
    assert frame["duplicate_of_row"].null_count() == frame.height


# --- 2. trust nothing in the cache ----------------------------------------------------------

def test_a_cut_cached_blob_is_fetched_again_in_full(tmp_path, mirror_url):
    import hashlib

    from pipelines.ingest.fetch import FetchSettings, fetch

    official = CONTRACTS["cerema_enaf"].latest.url
    settings = FetchSettings(mirror=mirror_url, offline=True, cache_dir=tmp_path / "cache", progress=False)
    first = fetch(official, "cerema_enaf", settings)
    original = first.path.read_bytes()
    first.path.write_bytes(original[: int(len(original) * 0.95)])  # the blob loses 5 % on disk
    again = fetch(official, "cerema_enaf", settings)
    assert not again.from_cache  # no conditional request on a blob that no longer matches its hash
    assert again.path.read_bytes() == original
    assert again.sha256 == hashlib.sha256(again.path.read_bytes()).hexdigest() == first.sha256


def test_a_published_vintage_that_comes_back_shorter_blocks_publication(release, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(MIRROR, mirror)
    flux = Path(mirror_location(str(mirror), CONTRACTS["insee_mobpro_flux"].vintage(2022).url))
    # 43 % fewer rows: within the 50 % of the tables' row counts
    rewrite_csv_member(flux, lambda text: "".join(text.splitlines(keepends=True)[: int(len(text.splitlines()) * 0.57)]))
    out = tmp_path / "out"
    shutil.copytree(release, out)
    before = release_files(out)
    result = run_flows(str(mirror), tmp_path / "data", out, FLOWS_GROUPS=str(GROUPS))
    assert result.returncode == 1
    assert "check failed: rows_vs_latest_release: source insee_mobpro_flux lost rows beyond its tolerance of 2%" in result.stderr
    assert __import__("re").search(r"vintage 2022: 258 rows in release [\d.]+, 1\d\d now \(-4\d\.\d%\)", result.stderr)
    assert "row_tolerance in sources/insee_mobpro_flux.yml" in result.stderr
    assert release_files(out) == before


# --- 4. state files that heal ---------------------------------------------------------------

@pytest.mark.parametrize("pointer", ['{"path": "releases/1999.01.01", "release_id": "1999.01.01"}', "{not json"])
def test_a_dangling_or_corrupt_latest_json_is_repaired(pointer, release, mirror_url, tmp_path):
    import json
    import subprocess

    from .conftest import FLOWS

    out = tmp_path / "out"
    shutil.copytree(release, out)
    good = latest(release).name
    (out / "latest.json").write_text(pointer)
    info = subprocess.run([FLOWS, "info", str(out)], capture_output=True, text=True)
    assert info.returncode == 0 and f"showing the newest complete release ({good})" in info.stderr
    result = run_flows(mirror_url, release.parent / "data1", out, FLOWS_GROUPS=str(GROUPS))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"latest.json now names the newest complete release, {good}" in result.stderr
    assert json.loads((out / "latest.json").read_text())["release_id"] == good
    assert "nothing changed: no new release" in result.stdout  # compared with the repaired pointer


def test_a_corrupt_cache_index_is_rebuilt_from_its_records(tmp_path, mirror_url):
    from pipelines.ingest.fetch import FetchSettings, fetch

    settings = FetchSettings(mirror=mirror_url, offline=True, cache_dir=tmp_path / "cache", progress=False)
    regions, departements = CONTRACTS["insee_cog_regions"].latest.url, CONTRACTS["insee_cog_departements"].latest.url
    first = fetch(regions, "insee_cog_regions", settings)
    fetch(departements, "insee_cog_departements", settings)
    (tmp_path / "cache" / "index.json").write_text('{"truncated": ')
    (tmp_path / "cache" / "blobs" / first.sha256).unlink()  # and one blob lost
    assert fetch(departements, "insee_cog_departements", settings).from_cache  # rebuilt: a conditional request
    again = fetch(regions, "insee_cog_regions", settings)
    assert not again.from_cache and again.sha256 == first.sha256  # its blob was gone: fetched in full
    assert (tmp_path / "cache" / "index.json.corrupt").exists()


# --- 5. no string-built SQL with user input -------------------------------------------------

def test_paths_with_apostrophes_spaces_and_accents_publish_the_same_tables(release, mirror_url, tmp_path):
    from pipelines.sql import sql_string

    assert sql_string("Côte-d'Or") == "'Côte-d''Or'"
    root = tmp_path / "Côte-d'Or données"
    out = root / "publié l'an"
    result = run_flows(mirror_url, root / "data d'été", out, FLOWS_GROUPS=str(GROUPS), FLOWS_CACHE=str(root / "cache d'ici"))
    assert result.returncode == 0, result.stderr[-3000:]
    for table in ("commuting_flows", "interdependencies", "territories"):
        assert (latest(out) / f"{table}.parquet").read_bytes() == (latest(release) / f"{table}.parquet").read_bytes()
    assert (latest(out) / "commuting_flows.csv.zip").exists()


# --- 3 and 7. groups files validated before any heavy work ----------------------------------

@pytest.mark.parametrize("rows,message", [
    ("outside,Outside,01001\n", "'outside' is reserved"),
    ("g,G,01001\ng,G,1001\n", "listed twice in the same group: g / 01001 (line 2), g / 01001 (line 3)"),
    ("".join(f"g{i},G,01001\n" for i in range(11)), "is in 11 groups, more than 10"),
])
def test_groups_files_the_warehouse_cannot_honour_are_refused(rows, message, tmp_path, monkeypatch):
    from pipelines.ingest.groups import GroupsFileError, materialise_groups

    groups = tmp_path / "groups.csv"
    groups.write_text("group_id,group_name,commune_code\n" + rows)
    with pytest.raises(GroupsFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        materialise_groups(str(groups), tmp_path)


def test_too_many_groups_are_refused(tmp_path, monkeypatch):
    from pipelines.ingest.groups import MAX_GROUPS, GroupsFileError, materialise_groups

    groups = tmp_path / "groups.csv"
    codes = ["01001", "01004", "01453", "01414", "69123", "69029", "75056", "92012", "92050", "2A004"]
    groups.write_text("group_id,group_name,commune_code\n" + "".join(
        f"g{i},G,{codes[i % len(codes)]}\n" for i in range(MAX_GROUPS + 1)))
    with pytest.raises(GroupsFileError, match="groups, more than the 2,000"):
        materialise_groups(str(groups), tmp_path)


def test_a_wrong_retention_setting_stops_before_the_run(mirror_url, tmp_path):
    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_KEEP_RELEASES="0")
    assert result.returncode == 2 and "FLOWS_KEEP_RELEASES='0'" in result.stderr
    assert not (tmp_path / "out").exists() and "nothing was published" not in result.stderr


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_run_takes_its_dbt_child_with_it(mirror_url, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from .conftest import FLOWS, PROJECT

    env = {**os.environ, "FLOWS_MIRROR": mirror_url, "FLOWS_DATA": str(tmp_path / "data"),
           "FLOWS_OUTPUT": str(tmp_path / "out"), "FLOWS_OFFLINE": "1", "FLOWS_PROGRESS": "0"}
    run = subprocess.Popen([FLOWS, "run"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, dbt = time.monotonic() + 120, []
    while not dbt and time.monotonic() < deadline and run.poll() is None:
        dbt = [p for p in children(run.pid) if "dbt" in (Path("/proc") / str(p) / "cmdline").read_text(errors="replace")]
        time.sleep(0.05)
    assert dbt, "flows run never started dbt"
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 20
    while any(alive(p) for p in dbt) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(p) for p in dbt), "dbt outlived the run that started it"
    again = subprocess.run([FLOWS, "run"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]  # no lock left behind


def test_the_dbt_wrapper_child_dies_with_its_parent():
    """The mechanism itself, on a silent child (dbt dies of a broken pipe anyway when it writes)."""
    import signal
    import subprocess
    import sys
    import time

    child = ("from pipelines.warehouse.dbt_child import exec_as_child; exec_as_child('/bin/sleep', ['30'])")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys\n"
                               f"p = subprocess.Popen([sys.executable, '-c', {child!r}])\n"
                               "print(p.pid, flush=True)\np.wait()"], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    time.sleep(0.5)  # the child has become sleep
    assert alive(pid) and "sleep" in (Path("/proc") / str(pid) / "cmdline").read_text()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


# --- 3. bounded memory and clean temporary files --------------------------------------------

def test_duckdb_memory_is_bounded_and_a_killed_runs_spill_files_are_removed(mirror_url, tmp_path):
    import os
    import subprocess

    from pipelines.settings import memory_limit

    stale = tmp_path / "data" / "duckdb_tmp" / "duckdb_temp_storage-0.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"\0" * 1_000_000)  # left by a killed run
    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_MEMORY_LIMIT="1GB")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not stale.exists()
    # the profile dbt builds with carries the limit, the threads and the spill directory
    env = {**os.environ, "FLOWS_DUCKDB_MEMORY_LIMIT": "1GB", "FLOWS_DUCKDB_TEMP_DIRECTORY": str(tmp_path / "spill"),
           "FLOWS_DUCKDB_THREADS": "3", "FLOWS_WAREHOUSE": str(tmp_path / "w.duckdb"), "DO_NOT_TRACK": "1"}
    from .conftest import PROJECT

    shown = subprocess.run([str(PROJECT / ".venv" / "bin" / "dbt"), "show", "--inline",
                            "select current_setting('memory_limit') as m, current_setting('temp_directory') like '%/spill' as spill, "
                            "current_setting('threads') as t",
                            "--project-dir", "dbt_project", "--profiles-dir", "dbt_project", "--target-path", str(tmp_path / "t")],
                           cwd=PROJECT, env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stdout[-2000:]
    assert "| 953.6 MiB |  True | 3 |" in shown.stdout
    bad = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_MEMORY_LIMIT="lots")
    assert bad.returncode == 2 and "FLOWS_MEMORY_LIMIT='lots'" in bad.stderr
    assert memory_limit("").endswith("MiB") and int(memory_limit("")[:-3]) <= 2048  # 2 GiB, less on a small machine
    from pipelines.settings import Settings, SettingsError

    assert Settings.from_env({"FLOWS_THREADS": "3", "FLOWS_MEMORY_LIMIT": "2GB"}).duckdb_config == {"memory_limit": "2GB", "threads": 3}
    with pytest.raises(SettingsError, match="FLOWS_THREADS='0'"):
        Settings.from_env({"FLOWS_THREADS": "0"})


# --- 6. flows serve as a careful static server ----------------------------------------------

@pytest.fixture
def careful_server(release, tmp_path):
    import threading

    from pipelines.commands.serve import make_server

    root = tmp_path / "served"
    shutil.copytree(release, root)
    (root / "releases" / ".tmp-2099.01.01-1").mkdir()  # a release being written
    (root / ".secret").write_text("hidden")
    (root / "outside_link").symlink_to("/etc")
    (root / "passwd_link").symlink_to("/etc/passwd")
    server = make_server(root, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()


def raw_request(port: int, payload: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(payload)
            connection.shutdown(socket.SHUT_WR)
        except BrokenPipeError:
            pass  # the server answered before reading it all
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


def test_serve_answers_malformed_and_oversized_requests(careful_server):
    _, port = careful_server
    assert status_of(raw_request(port, b"GARBAGE\r\n\r\n")) == 400
    assert status_of(raw_request(port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 10_000_000 + b"\r\n\r\n")) == 431
    many = b"".join(f"X-H{i}: v\r\n".encode() for i in range(200))
    assert status_of(raw_request(port, b"GET /latest.json HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")) == 431


def test_serve_keeps_to_what_is_published(careful_server):
    root, port = careful_server
    for path in ("/outside_link/passwd", "/passwd_link", "/.secret", "/releases/.tmp-2099.01.01-1/"):
        assert status_of(raw_request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())) == 404, path
    listing = raw_request(port, b"GET /releases/ HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(listing) == 200 and latest(root).name.encode() in listing and b".tmp-" not in listing
    assert b".secret" not in raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def test_serve_answers_a_multi_range_request_with_the_whole_file(careful_server):
    root, port = careful_server
    relative = (latest(root) / "territories.parquet").relative_to(root).as_posix()
    whole = (root / relative).read_bytes()
    reply = raw_request(port, f"GET /{relative} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3,10-20\r\n\r\n".encode())
    assert status_of(reply) == 200 and reply.endswith(whole)


def test_an_oversized_groups_file_is_refused_before_reading(tmp_path, monkeypatch):
    from pipelines.ingest.groups import MAX_GROUPS_FILE_BYTES, GroupsFileError, materialise_groups

    groups = tmp_path / "groups.csv"
    with open(groups, "wb") as f:
        f.write(b"group_id,group_name,commune_code\n")
        f.truncate(MAX_GROUPS_FILE_BYTES + 1)
    with pytest.raises(GroupsFileError, match="weighs"):
        materialise_groups(str(groups), tmp_path)


def test_the_model_parameters_are_checked_passed_to_dbt_and_fingerprinted(tmp_path):
    from pipelines.ingest.changes import build_fingerprint
    from pipelines.orchestration.assets import dbt_vars
    from pipelines.settings import Settings, SettingsError

    base = {"FLOWS_DATA": str(tmp_path / "data")}
    for name in ("FLOWS_FOOD_LAND_PER_INHABITANT_HA", "FLOWS_WAGE_PAID_HOURS_PER_YEAR"):
        for wrong in ("0", "-0.2", "beaucoup"):
            with pytest.raises(SettingsError, match=name):
                Settings.from_env({**base, name: wrong})
    default, vegetarian = Settings.from_env(base), Settings.from_env({**base, "FLOWS_FOOD_LAND_PER_INHABITANT_HA": "0.25"})
    part_time = Settings.from_env({**base, "FLOWS_WAGE_PAID_HOURS_PER_YEAR": "1600"})

    class Plan:
        target_cog = 2026

    assert dbt_vars(Plan, default) == {"target_cog": 2026}  # dbt_project.yml's default
    assert dbt_vars(Plan, vegetarian) == {"target_cog": 2026, "food_land_per_inhabitant_ha": 0.25}
    assert dbt_vars(Plan, part_time) == {"target_cog": 2026, "wage_paid_hours_per_year": 1600}
    fingerprints = {build_fingerprint(s) for s in (default, vegetarian, part_time)}
    assert len(fingerprints) == 3  # another hypothesis: not "nothing changed"


def test_other_model_parameters_flow_through_to_the_release(mirror_url, tmp_path):
    import json

    import duckdb

    from .fixtures.make_fixtures import NET_HOURLY_WAGE_2022, POPULATION

    result = run_flows(mirror_url, tmp_path / "data", tmp_path / "out", FLOWS_FOOD_LAND_PER_INHABITANT_HA="0.25",
                       FLOWS_WAGE_PAID_HOURS_PER_YEAR="1600")
    assert result.returncode == 0, result.stderr[-2000:]
    current = latest(tmp_path / "out")
    row = duckdb.sql(f"""select food_land_per_inhabitant_ha, food_land_need_ha from '{current / "territory_indicators.parquet"}'
                         where level = 'commune' and code = '01001' and year = 2010""").fetchall()
    assert row == [(0.25, pytest.approx(POPULATION["01001"] * 0.25))]
    flows = current / "material_flows.parquet"
    wage, commuters = duckdb.sql(f"""select
        (select value from '{flows}' where flow_kind = 'wage_income' and level = 'commune' and year = 2022
         and origin_code = '75056' and destination_code = '69123'),
        (select value from '{flows}' where flow_kind = 'commuters' and level = 'commune' and year = 2022
         and origin_code = '69123' and destination_code = '75056')""").fetchone()
    assert wage == pytest.approx(commuters * NET_HOURLY_WAGE_2022["69123"] * 1600, rel=1e-9)
    settings = json.loads((current / "manifest.json").read_text())["settings"]
    assert settings["food_land_per_inhabitant_ha"] == 0.25 and settings["wage_paid_hours_per_year"] == 1600
