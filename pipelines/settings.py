"""Every setting of the warehouse, read once from the environment by `Settings.from_env()`.

`VARIABLES` is the one list of the `FLOWS_*` variables (the README's table is checked against it).
`Settings` is a Dagster resource: the job's assets, checks, schedule and sensor receive it; the
commands (`flows run`, `flows dossier`...) build it once and hand it on. Nothing else reads the
environment for a setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from dagster import ConfigurableResource

from .parameters import MODEL_PARAMETERS


class SettingsError(ValueError):
    """A FLOWS_* variable holds a value the warehouse cannot use."""


class Variable(NamedTuple):
    name: str
    default: str  # as written in the README
    meaning: str


VARIABLES = (
    Variable("FLOWS_MIRROR", "none", "a directory or an http(s) base URL holding copies of the producers' files as "
             "`<mirror>/<host>/<path of the official URL>`; tried before the official URL"),
    Variable("FLOWS_OFFLINE", "`0`", "`1`: never contact the official URLs (use the mirror only)"),
    Variable("FLOWS_SOURCES", "all", "comma-separated source ids (file stems in `sources/`): run only those, and "
             "publish the tables they allow"),
    Variable("FLOWS_TARGET_COG", "latest vintage of `insee_cog_communes`",
             "the commune geography (COG year) every source is re-based to"),
    Variable("FLOWS_OUTPUT", "`published/`", "where releases are published (relative paths: from the current directory)"),
    Variable("FLOWS_DATA", "`data/`", "raw Parquet, the DuckDB warehouse, Dagster's run history, the last run's "
             "set-aside summary"),
    Variable("FLOWS_CACHE", "`.flows_cache/`", "download cache"),
    Variable("FLOWS_PROGRESS", "`1`", "`0` hides the download progress bars"),
    Variable("FLOWS_KEEP_RELEASES", "all", "keep the newest N releases (N ≥ 1, checked before the run; always the one "
             "`latest.json` names), delete older ones"),
    Variable("FLOWS_GROUPS", "none", "a CSV of custom groups (`group_id,group_name,commune_code`): adds the `group` "
             "level. Checked before any heavy work: codes known to some geography, one row per group and commune, at "
             "most 2,000 groups and 10 groups per commune, no group named `outside` (reserved for the communes in no group)"),
    Variable("FLOWS_MEMORY_LIMIT", "2 GiB (60 % of the machine's memory if less)", "the most DuckDB may use in "
             "dbt's build and in publication (`4GB`, `1500MiB`); beyond it DuckDB spills to `FLOWS_DATA/duckdb_tmp/`, "
             "which every run empties first. With 2 GiB a national build peaks under 3 GiB in all and takes no longer "
             "than with more (docs/performance.md)"),
    Variable("FLOWS_FOOD_LAND_PER_INHABITANT_HA", "`0.4`", "the farmland one inhabitant needs (ha), for the food-land "
             "balance and the `food_land` flows (docs/methods.md); another diet, another figure"),
    Variable("FLOWS_WAGE_PAID_HOURS_PER_YEAR", "`1820`", "the paid hours of a full-time year (35 h x 52 weeks) that "
             "turn INSEE's mean net hourly wage into the annual wage of a commuter, for the `wage_income` flows "
             "(docs/methods.md)"),
    Variable("FLOWS_THREADS", "the machine's cores", "DuckDB's threads in dbt's build and in publication"),
    Variable("FLOWS_LOCK_WAIT", "`0`", "seconds a run waits for another run on the same `FLOWS_DATA` before refusing"),
    Variable("FLOWS_ROWCOUNT_TOLERANCE", "`0.5`", "largest relative change of rows per table and year against the "
             "latest release before publication is blocked"),
    Variable("FLOWS_MAX_QUARANTINE_SHARE", "`0.01`", "largest share (a fraction, or a percentage such as `5%`) of a "
             "source vintage's rows or measure that may be set aside before publication is blocked"),
    Variable("FLOWS_SCHEDULE_CRON", "`0 5 * * 1`", "the weekly schedule (Europe/Paris)"),
    Variable("FLOWS_SENSOR_INTERVAL", "`21600`", "the change sensor's interval (seconds)"),
    Variable("FLOWS_HTTP_TIMEOUT", "`30`", "download timeout (seconds)"),
    Variable("FLOWS_CONNECT_TIMEOUT", "`5`", "seconds to connect to a host; a host that cannot be resolved, refuses or "
             "does not answer in time is not retried nor asked again in the run"),
    Variable("FLOWS_MAX_UNCOMPRESSED_BYTES", "4 GiB", "the most an archive may expand to (bytes)"),
    Variable("FLOWS_LOG_LEVEL", "`INFO`", "Dagster console log level of `flows run` (`DEBUG` shows every event and "
             "stack traces)"),
    Variable("FLOWS_SERVE_QUIET", "`0`", "`1`: `flows serve` logs no request"),
)

MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
DEFAULT_SHARE_OF_RAM = 0.6  # room for the operating system, Python and the Parquet writers
DEFAULT_MEMORY_LIMIT_MIB = 2048  # a national build then peaks under 3 GiB in all (docs/performance.md)


class Settings(ConfigurableResource):
    """The run's settings; paths are absolute (relative ones were taken from the current directory)."""

    data_dir: str
    output_dir: str
    cache_dir: str
    mirror: str | None = None
    offline: bool = False
    progress: bool = True
    sources: list[str] = []  # empty: every source
    target_cog: int | None = None  # None: the latest vintage of the commune reference
    groups_file: str | None = None
    memory_limit: str = "4GB"
    threads: int = 2
    lock_wait_seconds: float = 0.0
    rowcount_tolerance: float = 0.5
    max_quarantine_share: float = 0.01
    keep_releases: int | None = None  # None: keep every release
    schedule_cron: str = "0 5 * * 1"
    sensor_interval_seconds: int = 6 * 3600
    http_timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    max_uncompressed_bytes: int = 4 << 30
    log_level: str = "INFO"
    serve_quiet: bool = False
    food_land_per_inhabitant_ha: float | None = None  # None: the dbt project's default
    wage_paid_hours_per_year: float | None = None  # None: the dbt project's default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every FLOWS_* variable; a wrong value raises SettingsError naming it."""
        env = os.environ if environ is None else environ

        def text(name: str) -> str:
            return env.get(name, "").strip()

        def number(name: str, field: str):  # a number, or the field's default when unset
            value, default = text(name), cls.model_fields[field].default
            kind = int if isinstance(default, int) or field == "target_cog" else float
            try:
                return kind(value) if value else default
            except ValueError:
                raise SettingsError(f"{name}={value!r} is not a number") from None

        def positive(name: str, field: str):  # a model parameter: more than 0, or unset
            value = number(name, field)
            if value is not None and not value > 0:
                raise SettingsError(f"{name}={text(name)!r} must be more than 0")
            return value

        mirror = text("FLOWS_MIRROR") or None
        if mirror and "://" not in mirror:
            mirror = str(Path(mirror).resolve())
        return cls(
            data_dir=str(Path(text("FLOWS_DATA") or "data").resolve()),
            output_dir=str(Path(text("FLOWS_OUTPUT") or "published").resolve()),
            cache_dir=str(Path(text("FLOWS_CACHE") or ".flows_cache").resolve()),
            mirror=mirror,
            offline=text("FLOWS_OFFLINE") not in ("", "0"),
            progress=text("FLOWS_PROGRESS") != "0",
            sources=[s.strip() for s in text("FLOWS_SOURCES").split(",") if s.strip()],
            target_cog=number("FLOWS_TARGET_COG", "target_cog"),
            groups_file=text("FLOWS_GROUPS") or None,
            memory_limit=memory_limit(text("FLOWS_MEMORY_LIMIT")),
            threads=threads(text("FLOWS_THREADS")),
            lock_wait_seconds=number("FLOWS_LOCK_WAIT", "lock_wait_seconds"),
            rowcount_tolerance=number("FLOWS_ROWCOUNT_TOLERANCE", "rowcount_tolerance"),
            max_quarantine_share=quarantine_share(text("FLOWS_MAX_QUARANTINE_SHARE")),
            keep_releases=keep_releases(text("FLOWS_KEEP_RELEASES")),
            schedule_cron=text("FLOWS_SCHEDULE_CRON") or cls.model_fields["schedule_cron"].default,
            sensor_interval_seconds=number("FLOWS_SENSOR_INTERVAL", "sensor_interval_seconds"),
            http_timeout_seconds=number("FLOWS_HTTP_TIMEOUT", "http_timeout_seconds"),
            connect_timeout_seconds=number("FLOWS_CONNECT_TIMEOUT", "connect_timeout_seconds"),
            max_uncompressed_bytes=number("FLOWS_MAX_UNCOMPRESSED_BYTES", "max_uncompressed_bytes"),
            log_level=(text("FLOWS_LOG_LEVEL") or cls.model_fields["log_level"].default).upper(),
            serve_quiet=text("FLOWS_SERVE_QUIET") == "1",
            food_land_per_inhabitant_ha=positive("FLOWS_FOOD_LAND_PER_INHABITANT_HA", "food_land_per_inhabitant_ha"),
            wage_paid_hours_per_year=positive("FLOWS_WAGE_PAID_HOURS_PER_YEAR", "wage_paid_hours_per_year"),
        )

    @property
    def model_parameters(self) -> dict[str, float]:
        """The dbt vars of the models' parameters that the user set (the others keep the defaults of
        dbt_project.yml)."""
        return {k: getattr(self, k) for k in MODEL_PARAMETERS if getattr(self, k) is not None}

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def raw_dir(self) -> Path:
        return self.data_path / "raw"

    @property
    def warehouse(self) -> Path:
        return self.data_path / "warehouse.duckdb"

    @property
    def duckdb_config(self) -> dict:
        """DuckDB's limits for the connections the pipeline opens itself (dbt's: profiles.yml)."""
        return {"memory_limit": self.memory_limit, "threads": self.threads}

    @property
    def output_path(self) -> Path:
        return Path(self.output_dir)

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir)


def memory_limit(setting: str) -> str:
    """FLOWS_MEMORY_LIMIT (e.g. `4GB`, `1500MiB`), or 2 GiB, or 60 % of the machine's memory if less."""
    if setting:
        if not MEMORY.fullmatch(setting):
            raise SettingsError(f"FLOWS_MEMORY_LIMIT={setting!r} is not an amount of memory such as 4GB or 1500MiB")
        return setting.replace(" ", "")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{min(DEFAULT_MEMORY_LIMIT_MIB, int(total * DEFAULT_SHARE_OF_RAM) >> 20)}MiB"


def threads(setting: str) -> int:
    """FLOWS_THREADS, or the machine's cores."""
    if not setting:
        return os.cpu_count() or 1
    if not setting.isdigit() or int(setting) < 1:
        raise SettingsError(f"FLOWS_THREADS={setting!r} is not a number of threads (1 or more)")
    return int(setting)


def quarantine_share(setting: str) -> float:
    """FLOWS_MAX_QUARANTINE_SHARE as a fraction: `0.05` or `5%`; default 1 %."""
    if not setting:
        return 0.01
    try:
        share = float(setting[:-1]) / 100 if setting.endswith("%") else float(setting)
    except ValueError:
        raise SettingsError(f"FLOWS_MAX_QUARANTINE_SHARE={setting!r} is not a fraction (0.05) or a percentage (5%)") from None
    if not 0 <= share <= 1:
        raise SettingsError(f"FLOWS_MAX_QUARANTINE_SHARE={setting!r} must lie between 0 and 1 (or 0% and 100%)")
    return share


def keep_releases(setting: str) -> int | None:
    """FLOWS_KEEP_RELEASES: a whole number of releases, at least 1; None (keep all) when unset."""
    if not setting:
        return None
    if not setting.isdigit() or int(setting) < 1:
        raise SettingsError(f"FLOWS_KEEP_RELEASES={setting!r}: give the number of releases to keep, at least 1 "
                            "(the one latest.json names is always kept), or leave it empty to keep them all")
    return int(setting)


def readme_table() -> str:
    """The README's table of variables, generated from VARIABLES."""
    rows = [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])
