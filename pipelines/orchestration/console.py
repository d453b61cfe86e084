"""The console log of `flows run`: Dagster's events, stack traces only at FLOWS_LOG_LEVEL=DEBUG."""

import logging
import sys

from dagster import Field, logger


class WithoutStackTraces(logging.Filter):
    """Keeps a failed step's message and drops Dagster's stack trace (FLOWS_LOG_LEVEL=DEBUG keeps it):
    `flows run` ends with one line per failure that says what to do."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\nStack Trace:" in message:
            record.msg, record.args = message.split("\nStack Trace:")[0].rstrip(), ()
        return True


@logger(config_schema={"log_level": Field(str, is_required=False, default_value="INFO")},
        description="Console log of `flows run`: Dagster's events, stack traces only at DEBUG.")
def flows_console(init_context) -> logging.Logger:
    level = init_context.logger_config["log_level"].upper()
    console = logging.Logger("flows", level=level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s - %(levelname)s - %(message)s", "%Y-%m-%d %H:%M:%S"))
    if level != "DEBUG":
        handler.addFilter(WithoutStackTraces())
    console.addHandler(handler)
    return console
