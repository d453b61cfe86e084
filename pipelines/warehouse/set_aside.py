"""What a run set aside, per source and vintage: counted, printed, kept in the manifest, and
blocking publication when a vintage loses more than FLOWS_MAX_QUARANTINE_SHARE of its rows or
of its measure (workers, jobs, m2, MWh...).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

EXAMPLES = 3


def read_set_aside(warehouse: Path) -> list[dict]:
    """Per source and vintage: rows and measure read and set aside, and the main reasons with a few
    example values, from the warehouse's set_aside_summary and quarantine tables."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        summary = con.execute("SELECT * FROM set_aside_summary ORDER BY source_id, vintage").fetchall()
        names = [d[0] for d in con.description]
        reasons = con.execute(f"""
            WITH split AS (  -- 'commune code unknown ... in residence_code: 01999' -> reason, example
                SELECT source_id, vintage, split_part(quarantine_reason, ': ', 1) AS reason,
                       nullif(trim(substr(quarantine_reason, length(split_part(quarantine_reason, ': ', 1)) + 3)), '') AS example
                FROM quarantine)
            SELECT source_id, vintage, reason, count(*) AS rows, list(DISTINCT example ORDER BY example)[1:{EXAMPLES}] AS examples
            FROM split GROUP BY ALL ORDER BY source_id, vintage, rows DESC, reason""").fetchall()
    by_vintage: dict[tuple, list[dict]] = {}
    for source_id, vintage, reason, rows, examples in reasons:
        by_vintage.setdefault((source_id, vintage), []).append(
            {"reason": reason, "rows": rows, "examples": [e for e in examples if e is not None]})
    entries = []
    for row in summary:
        entry = dict(zip(names, row))
        entry["reasons"] = by_vintage.get((entry["source_id"], entry["vintage"]), [])
        entries.append(entry)
    return entries


def shares(entry: dict) -> tuple[float, float | None]:
    """Share of rows and share of the measure set aside (None without a measure)."""
    rows = entry["rows_set_aside"] / entry["rows_read"] if entry["rows_read"] else 0.0
    measure = None
    if entry.get("measure_read"):
        measure = (entry["measure_set_aside"] or 0.0) / entry["measure_read"]
    return rows, measure


def describe(entry: dict) -> str:
    """One line: `insee_mobpro_flux 2019: 2 of 228 rows (0.9 %), 3.25 of 130,887 workers (0.0 %) set aside; ...`"""
    row_share, measure_share = shares(entry)
    text = f"{entry['source_id']} {entry['vintage']}: {entry['rows_set_aside']:,} of {entry['rows_read']:,} rows ({row_share:.1%})"
    if measure_share is not None:
        text += (f", {_number(entry['measure_set_aside'])} of {_number(entry['measure_read'])} {entry['measure_unit']}"
                 f" ({measure_share:.1%})")
    text += " set aside"
    if entry["reasons"]:
        text += "; " + "; ".join(
            f"{r['reason']}: {r['rows']:,} row{'s' if r['rows'] > 1 else ''}"
            + (f" (e.g. {', '.join(r['examples'])})" if r["examples"] else "")
            for r in entry["reasons"][:3])
    return text


def _number(value: float | None) -> str:
    value = value or 0.0
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def report_lines(entries: list[dict]) -> list[str]:
    """The end-of-run summary: a line per source vintage that set rows aside, and a total."""
    touched = [e for e in entries if e["rows_set_aside"]]
    lines = [f"set aside: {sum(e['rows_set_aside'] for e in entries):,} of {sum(e['rows_read'] for e in entries):,} rows "
             f"read in {len(entries)} source vintages" + (":" if touched else " (nothing set aside)")]
    lines += [f"  {describe(e)}" for e in touched]
    return lines


def blocking_problems(entries: list[dict], max_share: float) -> list[str]:
    """The source vintages that lose more than `max_share` of their rows or of their measure."""
    return [describe(e) for e in entries
            if shares(e)[0] > max_share or (shares(e)[1] or 0.0) > max_share]


def blocking_message(entries: list[dict], max_share: float) -> str | None:
    """Why publication must stop (source vintages over `max_share`, FLOWS_MAX_QUARANTINE_SHARE), or None."""
    problems = blocking_problems(entries, max_share)
    if not problems:
        return None
    return (f"publication blocked: {len(problems)} source vintage(s) lost more than {max_share:.1%} "
            f"(FLOWS_MAX_QUARANTINE_SHARE) of their rows or of their measure: " + " | ".join(problems)
            + ". Correct the input (the warehouse's quarantine table lists every row with its file and line), "
            "or accept the loss for this run with FLOWS_MAX_QUARANTINE_SHARE=<fraction, e.g. 0.05>.")


def rebased_group_codes(warehouse: Path) -> list[str]:
    """The FLOWS_GROUPS codes that did not count as written: merged since (counted for their
    successor) or split since (divided between the resulting communes), one line each."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""
            SELECT source_row, group_id, commune_code, string_agg(commune_code_target, ', ' ORDER BY commune_code_target),
                   bool_or(split_allocated)
            FROM int_custom_groups_rebased
            WHERE quarantine_reason IS NULL AND (commune_code <> commune_code_target OR split_allocated)
            GROUP BY ALL ORDER BY source_row""").fetchall()
    return [f"FLOWS_GROUPS line {row}, group {group}: {code} "
            + (f"was split since: its members are {targets} (flagged: a part of each, by population)" if split
               else f"has merged since: counted as {targets}")
            for row, group, code, targets, split in rows]


def set_aside_report_path(data: Path) -> Path:
    """Where the set-aside check writes what this run set aside, for `flows run` to print."""
    return data / "set_aside.json"
