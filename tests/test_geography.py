"""Commune passage: mergers, splits, chains, and events outside the window."""

from datetime import date

from pipelines.ingest.passage import Event, passage, passage_table


def merger(day, absorbed, survivor):
    return [Event(day, absorbed, survivor), Event(day, survivor, survivor)]


def test_merger_moves_the_whole_weight():
    events = merger(date(2025, 1, 1), "01002", "01004")
    assert passage(events, 2024, 2026, {}) == {"01002": {"01004": (1.0, None)}}


def test_events_on_or_before_the_source_geography_are_already_applied():
    events = merger(date(2024, 1, 1), "01002", "01004")
    assert passage(events, 2024, 2026, {}) == {}
    assert passage(events, 2023, 2026, {}) != {}


def test_events_after_the_target_are_ignored():
    assert passage(merger(date(2027, 1, 1), "01002", "01004"), 2024, 2026, {}) == {}


def test_split_allocates_by_population_and_is_flagged():
    events = [Event(date(2024, 1, 1), "01453", "01453"), Event(date(2024, 1, 1), "01453", "01414")]
    result = passage(events, 2023, 2026, {"01453": 750.0, "01414": 250.0})
    assert result == {"01453": {"01453": (0.75, "population"), "01414": (0.25, "population")}}


def test_split_without_population_uses_equal_shares():
    events = [Event(date(2024, 1, 1), "A", "A"), Event(date(2024, 1, 1), "A", "B")]
    assert passage(events, 2023, 2026, {"A": 10.0})["A"] == {"A": (0.5, "equal"), "B": (0.5, "equal")}


def test_chain_of_merger_then_code_change():
    events = merger(date(2019, 1, 1), "X", "Y") + [Event(date(2022, 1, 1), "Y", "Z")]
    result = passage(events, 2018, 2026, {})
    assert result["X"] == {"Z": (1.0, None)} and result["Y"] == {"Z": (1.0, None)}


def test_split_then_merger_keeps_the_total_weight():
    events = [Event(date(2020, 1, 1), "A", "A"), Event(date(2020, 1, 1), "A", "B")]
    events += merger(date(2021, 1, 1), "B", "C")
    result = passage(events, 2019, 2026, {"A": 1.0, "B": 3.0})
    assert result["A"] == {"A": (0.25, "population"), "C": (0.75, "population")}
    assert sum(r for r, _ in result["A"].values()) == 1.0


def test_table_has_one_block_per_geography():
    table = passage_table(merger(date(2025, 1, 1), "01002", "01004"), [2023, 2024, 2025], 2026, {})
    assert table.select("geography", "code_from", "code_to").rows() == [(2023, "01002", "01004"), (2024, "01002", "01004")]
