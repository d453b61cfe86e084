"""National benchmark: the real pipeline on national-size inputs, measured stage by stage.

Generates every source of `sources/` at national size in its producer's format
(benchmarks/national_inputs.py), lays the files out as a mirror, runs `flows run` on it twice (the
second time nothing has changed), and prints one table: wall time and peak RSS (the whole process
tree: flows, its dbt child) of each run and stage, each dbt model's time, each published file's
time, rows and bytes, and the raw-scan floor measured on the same machine in the same run (DuckDB
reading every generated CSV and GeoJSON input once) with the ratio of the run to it. A third run
follows a change to one figure of one source (`--changed-source`, URSSAF jobs by default): only
what depends on it is rebuilt, the other tables are carried into the new release.

    .venv/bin/python benchmarks/national.py [--scale 1] [--seed 42] [--workdir DIR] [--memory-limit 2GB]
                                          [--changed-source ID] [--no-change-run]

`make bench` runs it at scale 1. Inputs are generated again only when the scale, the seed, the
generator or a source contract changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import national_inputs  # noqa: E402

PROJECT = national_inputs.PROJECT
FLOWS = str(Path(sys.executable).parent / "flows")


class TreeMemory:
    """Samples the resident memory of a process and all its descendants (from /proc) every 50 ms."""

    def __init__(self, pid: int):
        self.pid, self.samples, self._stop = pid, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self._tree_rss()))
            time.sleep(0.05)

    def _tree_rss(self) -> int:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        total, stack = 0, [self.pid]
        while stack:
            pid = stack.pop()
            stack += children.get(pid, [])
            try:
                total += int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError):
                pass
        return total

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)


def raw_scan_floor(mirror: Path) -> tuple[float, int, int]:
    """Seconds for DuckDB to read every CSV and text table (zipped members included) and GeoJSON input once; the
    rows read and the files left out (workbooks: DuckDB reads no xlsx without an extension)."""
    con = duckdb.connect()
    seconds, rows, left_out = 0.0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(p for p in mirror.rglob("*") if p.is_file()):
            started = time.perf_counter()
            if path.suffix == ".xlsx" or (path.suffix == ".zip" and _members(path, ".xlsx")):
                left_out += 1
                continue
            if path.name.endswith(".geojson.gz"):
                query = f"select count(*) from (select unnest(features) from read_json('{path}', maximum_object_size=1000000000))"
            else:
                if path.suffix == ".zip":
                    with zipfile.ZipFile(path) as archive:
                        member = _members(path, (".csv", ".txt"))[0]
                        archive.extract(member, tmp)
                    path = Path(tmp) / member
                separator = "," if path.read_bytes()[:200].count(b",") > path.read_bytes()[:200].count(b";") else ";"
                query = f"select count(*) from read_csv('{path}', delim='{separator}', header=true, all_varchar=true)"
            rows += con.execute(query).fetchone()[0]
            seconds += time.perf_counter() - started
    return seconds, rows, left_out


def change_one_figure(mirror: Path, source_id: str) -> tuple[Path, bytes]:
    """Adds 1 to the last figure of the first row of the source's first file (a plain CSV, as
    URSSAF's and ODRE's are); returns the file and its bytes before."""
    from urllib.parse import urlsplit

    from pipelines.ingest.contracts import load_contracts

    url = urlsplit(load_contracts()[source_id].vintages[0].url)
    path = mirror / url.netloc / url.path.lstrip("/")
    before = path.read_bytes()
    header, first, rest = before.split(b"\n", 2)
    fields = first.rstrip(b"\r").split(b";")
    fields[-1] = str(int(fields[-1]) + 1).encode()
    path.write_bytes(header + b"\n" + b";".join(fields) + first[len(first.rstrip(b"\r")):] + b"\n" + rest)
    return path, before


def _members(archive: Path, suffix: str | tuple[str, ...]) -> list[str]:
    with zipfile.ZipFile(archive) as opened:
        return [n for n in opened.namelist() if n.lower().endswith(suffix)]


def run_pipeline(mirror: Path, work: Path, memory_limit: str | None) -> dict:
    """One `flows run`: its wall time, exit code, memory samples and the Dagster events of the run."""
    env = {**os.environ, "FLOWS_MIRROR": str(mirror), "FLOWS_OFFLINE": "1", "FLOWS_PROGRESS": "0",
           "FLOWS_DATA": str(work / "data"), "FLOWS_OUTPUT": str(work / "published"), "FLOWS_CACHE": str(work / "cache")}
    if memory_limit:
        env["FLOWS_MEMORY_LIMIT"] = memory_limit
    started = time.time()
    process = subprocess.Popen([FLOWS, "run"], cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    stdout, stderr = process.communicate()
    ended = time.time()
    memory.stop()
    if process.returncode != 0:
        sys.exit(f"flows run failed ({process.returncode}):\n{stderr[-4000:]}")
    run_id, events = dagster_events(work / "data" / "dagster_home")
    return {"started": started, "ended": ended, "memory": memory, "stdout": stdout, "run_id": run_id, "events": events}


def dagster_events(home: Path) -> tuple[str, list]:
    """The latest Dagster run of the data directory and its events."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        return run.run_id, list(instance.all_logs(run.run_id))


def stages(run: dict) -> list[tuple[str, float, int]]:
    """(stage, seconds, peak RSS) for start-up, each Dagster step group and the end of the run."""
    starts, ends = {}, {}
    for event in run["events"]:
        if event.dagster_event is None or event.step_key is None:
            continue
        kind = event.dagster_event.event_type_value
        if kind == "STEP_START":
            starts[event.step_key] = event.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            ends[event.step_key] = event.timestamp
    groups = {"fetch and parse (raw assets)": [k for k in starts if k.startswith("raw")],
              "dbt build": [k for k in starts if k.startswith("dbt")],
              "checks": [k for k in starts if not k.startswith(("raw", "dbt", "release"))],
              "publication": [k for k in starts if k.startswith("release")]}
    memory, rows = run["memory"], []
    first = min(starts.values(), default=run["ended"])
    rows.append(("start-up (imports, plan, dbt manifest)", first - run["started"], memory.peak(run["started"], first)))
    for name, keys in groups.items():
        if keys:
            begin, end = min(starts[k] for k in keys), max(ends.get(k, run["ended"]) for k in keys)
            rows.append((name, end - begin, memory.peak(begin, end)))
    last = max(ends.values(), default=run["ended"])
    rows.append(("end of run (Dagster, summary)", run["ended"] - last, memory.peak(last, run["ended"])))
    return rows


def materialisations(run: dict) -> dict[str, dict]:
    """Asset key -> metadata of the run's materialisations."""
    found = {}
    for event in run["events"]:
        if event.dagster_event is not None and event.dagster_event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.dagster_event.event_specific_data.materialization
            found["/".join(materialization.asset_key.path)] = {k: v.value for k, v in materialization.metadata.items()}
    return found


def published_files(work: Path) -> list[tuple[str, int | None, int]]:
    latest = work / "published" / json.loads((work / "published" / "latest.json").read_text())["path"]
    manifest = json.loads((latest / "manifest.json").read_text())
    rows = {entry["file"]: entry["rows"] for entry in manifest["tables"].values()}
    rows.update({entry["csv"]["file"]: entry["rows"] for entry in manifest["tables"].values() if "csv" in entry})
    return [(p.name, rows.get(p.name), p.stat().st_size) for p in sorted(latest.iterdir())]


def gib(value: int) -> str:
    return f"{value / 2**30:.2f} GiB"


def report(scale: float, floor: tuple[float, int, int], first: dict, second: dict, third: dict | None, changed: str,
           work: Path) -> str:
    wall = first["ended"] - first["started"]
    lines = [f"# National benchmark, scale {scale:g}", "",
             f"machine: {os.cpu_count()} cores, {gib(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES'))}", "",
             "| what | seconds | peak RSS |", "|---|---:|---:|",
             f"| **end to end** | **{wall:.1f}** | **{gib(first['memory'].peak())}** |"]
    lines += [f"| {name} | {seconds:.1f} | {gib(peak)} |" for name, seconds, peak in stages(first)]
    lines += [f"| raw-scan floor ({floor[1]:,} rows; {floor[2]} workbooks left out) | {floor[0]:.1f} | |",
              f"| **end to end / floor** | **{wall / floor[0]:.1f}×** | |",
              f"| run where nothing changed | {second['ended'] - second['started']:.1f} | {gib(second['memory'].peak())} |"]
    if third:
        lines += [f"| run after one figure of {changed} changed | {third['ended'] - third['started']:.1f} "
                  f"| {gib(third['memory'].peak())} |"]
    lines.append("")
    republished = "nothing changed" not in second["stdout"]
    if second["run_id"] == first["run_id"]:
        lines += ["The run where nothing changed started no Dagster run: nothing fetched, rebuilt or published.", ""]
    else:
        rebuilt = materialisations(second)
        lines += [f"The run where nothing changed materialised {len(rebuilt)} assets "
                  f"({sum(1 for k in rebuilt if k.startswith('raw'))} raw, {sum(1 for k in rebuilt if not k.startswith(('raw', 'release')))} dbt models) "
                  f"and {'published a new release: the bytes differ' if republished else 'published nothing (identical bytes)'}.", ""]
    if third:
        rebuilt = materialisations(third)
        carried = rebuilt.get("release", {}).get("carried_tables", [])
        lines += [f"After one figure of {changed} changed: {sum(1 for k in rebuilt if k.startswith('raw'))} raw tables and "
                  f"{sum(1 for k in rebuilt if not k.startswith(('raw', 'release')))} dbt models rebuilt; tables carried "
                  f"into the new release unchanged: {', '.join(carried) or 'none'}.", ""]
    found = materialisations(first)
    models = sorted(((k, m.get("Execution Duration")) for k, m in found.items() if "Execution Duration" in m),
                    key=lambda item: -item[1])
    lines += ["| dbt model | seconds |", "|---|---:|"] + [f"| {k} | {s:.1f} |" for k, s in models] + [""]
    per_file = found.get("release", {}).get("seconds_per_file", {})
    lines += ["| published file | seconds | rows | MB |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {per_file[name]:.1f} | {rows:,} | {size / 1e6:.1f} |" if name in per_file
              else f"| {name} | | {'' if rows is None else f'{rows:,}'} | {size / 1e6:.2f} |"
              for name, rows, size in published_files(work)]
    return "\n".join(lines)


def inputs_fingerprint() -> str:
    """The generator and the contracts it writes for: the inputs are generated again when they change."""
    digest = hashlib.sha256()
    for path in [Path(national_inputs.__file__), *sorted((national_inputs.PROJECT / "sources").glob("*.yml"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "flows-national-benchmark")
    parser.add_argument("--memory-limit", help="FLOWS_MEMORY_LIMIT for the run (default: the project's)")
    parser.add_argument("--changed-source", default="urssaf_effectifs_commune",
                        help="the source (a plain CSV) one figure of which changes before the third run")
    parser.add_argument("--no-change-run", action="store_true", help="leave out the third run (one figure changed)")
    args = parser.parse_args()
    work = args.workdir.resolve() / f"scale-{args.scale:g}-seed-{args.seed}"
    mirror = work / "mirror"
    done = work / "mirror.done"
    if not done.exists() or done.read_text() != inputs_fingerprint():
        print(f"generating national inputs (scale {args.scale:g}, seed {args.seed}) in {mirror} ...", file=sys.stderr)
        started = time.perf_counter()
        national_inputs.build(mirror, args.scale, args.seed, say=lambda line: print(line, file=sys.stderr))
        done.write_text(inputs_fingerprint())
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    for leftover in ("data", "published", "cache"):
        subprocess.run(["rm", "-rf", str(work / leftover)], check=True)
    print("measuring the raw-scan floor ...", file=sys.stderr)
    floor = raw_scan_floor(mirror)
    print("flows run (everything new) ...", file=sys.stderr)
    first = run_pipeline(mirror, work, args.memory_limit)
    print("flows run (nothing changed) ...", file=sys.stderr)
    second = run_pipeline(mirror, work, args.memory_limit)
    third = None
    if not args.no_change_run:
        print(f"flows run (one figure of {args.changed_source} changed) ...", file=sys.stderr)
        path, before = change_one_figure(mirror, args.changed_source)
        try:
            third = run_pipeline(mirror, work, args.memory_limit)
        finally:
            path.write_bytes(before)
    text = report(args.scale, floor, first, second, third, args.changed_source, work)
    (work / "report.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
