"""Commune passage tables: from the codes of any geography year to the target geography.

INSEE's change history lists, per event, each commune before (`COM_AV`) with each commune after
(`COM_AP`). Replaying the events dated after 1 January of the source's geography year and up to
1 January of the target year gives, for every code of the source, the target code(s) its
measures go to: a merger moves the whole weight, a split divides it by the population of the
resulting communes (equal shares when a population is missing), and is flagged.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import polars as pl

PASSAGE_SCHEMA = {
    "geography": pl.Int32,
    "code_from": pl.String,
    "code_to": pl.String,
    "ratio": pl.Float64,
    "split_method": pl.String,  # null for a plain move; population / equal / producer for a split
}


# The passage from a code of any past vintage (replaying the whole history), used for codes that
# a user typed (FLOWS_GROUPS) and that the target geography no longer has.
ANY_VINTAGE = 0


@dataclass(frozen=True)
class Event:
    effective: date
    code_before: str
    code_after: str
    ratio: float | None = None  # a split ratio given by the producer, if any


def events_from_mouvements(mouvements: pl.DataFrame) -> list[Event]:
    """Events between communes proper (COM to COM) from the raw `insee_cog_mouvements` rows."""
    rows = mouvements.filter((pl.col("type_before") == "COM") & (pl.col("type_after") == "COM"))
    return [
        Event(date.fromisoformat(r["effective_date"][:10]), r["code_before"], r["code_after"])
        for r in rows.iter_rows(named=True)
    ]


def target_cog_year(available: list[int], wanted: int | None = None) -> int:
    """`wanted` (FLOWS_TARGET_COG) when set, else the latest vintage of the commune reference."""
    if wanted:
        if int(wanted) not in available:
            raise ValueError(f"FLOWS_TARGET_COG={wanted} but the commune reference has vintages {sorted(available)}")
        return int(wanted)
    return max(available)


def passage(events: list[Event], geography: int, target: int, population: dict[str, float]) -> dict[str, dict[str, tuple[float, str | None]]]:
    """Replay the events after 1 January `geography` up to 1 January `target`.

    Returns, for each code whose destiny changed, {target code: (ratio, split method)}.
    """
    start = date.min if geography == ANY_VINTAGE else date(geography, 1, 1)
    end = date(target, 1, 1)
    by_date: dict[date, dict[str, list[Event]]] = defaultdict(lambda: defaultdict(list))
    for e in events:
        if start < e.effective <= end:
            by_date[e.effective][e.code_before].append(e)
    state: dict[str, dict[str, tuple[float, str | None]]] = {}
    for day in sorted(by_date):
        moves = {before: _shares(group, population) for before, group in by_date[day].items()}
        for before in moves:
            state.setdefault(before, {before: (1.0, None)})
        for origin, holdings in state.items():
            updated: dict[str, tuple[float, str | None]] = defaultdict(lambda: (0.0, None))
            for current, (weight, method) in holdings.items():
                for after, (share, split_method) in moves.get(current, {current: (1.0, None)}).items():
                    old_weight, old_method = updated[after]
                    updated[after] = (old_weight + weight * share, split_method or method or old_method)
            state[origin] = dict(updated)
    return {o: h for o, h in state.items() if h != {o: (1.0, None)}}


def _shares(group: list[Event], population: dict[str, float]) -> dict[str, tuple[float, str | None]]:
    afters = sorted({e.code_after for e in group})
    if len(afters) == 1:
        return {afters[0]: (1.0, None)}
    given = {e.code_after: e.ratio for e in group if e.ratio is not None}
    if len(given) == len(afters):
        return {a: (given[a], "producer") for a in afters}
    weights = [population.get(a, 0.0) for a in afters]
    if all(w > 0 for w in weights):
        total = sum(weights)
        return {a: (w / total, "population") for a, w in zip(afters, weights)}
    return {a: (1.0 / len(afters), "equal") for a in afters}


def passage_table(events: list[Event], geographies: list[int], target: int, population: dict[str, float]) -> pl.DataFrame:
    rows = []
    for geography in sorted(set(geographies)):
        for code_from, holdings in sorted(passage(events, geography, target, population).items()):
            for code_to, (ratio, method) in sorted(holdings.items()):
                rows.append((geography, code_from, code_to, ratio, method))
    return pl.DataFrame(rows, schema=PASSAGE_SCHEMA, orient="row")
