"""Benchmark: "all flows touching one EPCI" read from a published file over HTTP.

Prints the bytes the server sent against the file size, and the query time locally and remotely.
Without an argument it builds a synthetic commuting_flows file of national size (about 35,000
communes, 1,250 EPCI, five census years) with the same export settings as a release; with a
published directory it uses the latest release's commuting_flows.parquet.

    .venv/bin/python benchmarks/remote_query.py [published_dir]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipelines.publish.release import PARQUET_OPTIONS, read_latest  # noqa: E402
from pipelines.commands.remote import duckdb_with_httpfs  # noqa: E402
from pipelines.commands.serve import RangeRequestHandler, make_server  # noqa: E402

SENT = {"bytes": 0, "requests": 0}


class CountingHandler(RangeRequestHandler):
    def copyfile(self, source, outputfile):
        class Counter:
            def write(self, data):
                SENT["bytes"] += len(data)
                return outputfile.write(data)

        SENT["requests"] += 1
        return super().copyfile(source, Counter())

    def log_message(self, *args):
        pass


def synthetic_flows(target: Path) -> None:
    """Commune flows of national size and their EPCI aggregates, sorted like a release."""
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE communes AS
        SELECT i, lpad((i % 95 + 1)::varchar, 2, '0') || lpad((i // 95)::varchar, 3, '0') AS code,
               (200000000 + i // 28)::varchar AS epci
        FROM range(35000) t(i)""")
    # each commune sends workers to itself and to 20 others, mostly nearby in code order
    con.execute("""
        CREATE TABLE flows AS
        SELECT 'commune' AS level, o.code AS origin_code, d.code AS destination_code, y.year,
               (hash(o.code || d.code || y.year) % 5000000) / 10000.0 AS workers, false AS destination_abroad, false AS split_allocated
        FROM (SELECT c.*, CASE WHEN j = 0 THEN c.i ELSE (c.i + j * j * 37) % 35000 END AS destination_i
              FROM communes c CROSS JOIN range(21) k(j)) o
        JOIN communes d ON d.i = o.destination_i
        CROSS JOIN (SELECT unnest([2018, 2019, 2020, 2021, 2022]) AS year) y""")
    con.execute("""
        INSERT INTO flows
        SELECT 'epci', co.epci, cd.epci, year, sum(workers), false, false
        FROM flows f JOIN communes co ON co.code = f.origin_code JOIN communes cd ON cd.code = f.destination_code
        GROUP BY ALL""")
    con.execute(f"COPY (SELECT * FROM flows ORDER BY level, origin_code, destination_code, year) TO '{target}' ({PARQUET_OPTIONS})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if len(sys.argv) > 1:
            directory = Path(sys.argv[1]).resolve()
            path = read_latest(directory) / "commuting_flows.parquet"
        else:
            directory = Path(tmp)
            path = directory / "commuting_flows.parquet"
            print("building a synthetic national commuting_flows file...")
            synthetic_flows(path)
        local = duckdb.connect()
        groups = local.sql(f"SELECT count(DISTINCT row_group_id) FROM parquet_metadata('{path}')").fetchone()[0]
        total_rows = local.sql(f"SELECT count(*) FROM '{path}'").fetchone()[0]
        # an EPCI in the middle of the file, so that the filter cannot profit from being at one end
        epci = local.sql(f"""SELECT origin_code FROM (SELECT DISTINCT origin_code FROM '{path}' WHERE level = 'epci')
                             ORDER BY origin_code LIMIT 1 OFFSET (SELECT count(DISTINCT origin_code) / 2
                             FROM '{path}' WHERE level = 'epci')""").fetchone()[0]
        query = ("SELECT * FROM '{p}' WHERE level = 'epci' AND (origin_code = '{e}' OR destination_code = '{e}')")

        server = make_server(directory, 0, handler_class=CountingHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.relative_to(directory).as_posix()}"
        remote = duckdb_with_httpfs()
        remote.execute("SET enable_http_metadata_cache = false")

        start = time.perf_counter()
        local_rows = local.sql(query.format(p=path, e=epci)).fetchall()
        local_seconds = time.perf_counter() - start
        SENT.update(bytes=0, requests=0)
        start = time.perf_counter()
        remote_rows = remote.sql(query.format(p=url, e=epci)).fetchall()
        remote_seconds = time.perf_counter() - start
        server.shutdown()

        size = path.stat().st_size
        assert sorted(local_rows) == sorted(remote_rows)
        print(f"file: {path.name}, {size:,} bytes, {total_rows:,} rows in {groups} row groups")
        print(f"query: all flows touching EPCI {epci} ({len(remote_rows)} rows)")
        print(f"over HTTP: {SENT['bytes']:,} bytes in {SENT['requests']} requests = "
              f"{100 * SENT['bytes'] / size:.1f} % of the file")
        print(f"time: local {local_seconds * 1000:.0f} ms, over HTTP on 127.0.0.1 {remote_seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
