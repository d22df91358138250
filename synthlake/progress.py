"""Progress of long work (generation, training), for whoever is watching.

The engine reports each step done to the Python logger `synthlake.progress`, one record
per step with `extra={"stage": ..., "done": ..., "total": ...}`. The logger does not
propagate and has no handler of its own, so nothing shows unless someone attaches one:
`make demo` attaches `Bars` (one tqdm bar per stage on the terminal); Dagster runs log
their own lines to the run's log; tests can attach any handler to count steps.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

LOGGER = logging.getLogger("synthlake.progress")
LOGGER.propagate = False
LOGGER.setLevel(logging.DEBUG)


def advance(stage: str, done: int, total: int) -> None:
    """`done` of `total` steps of `stage` are finished."""
    LOGGER.debug("%s: %d/%d", stage, done, total,
                 extra={"stage": stage, "done": done, "total": total})


class Bars(logging.Handler):
    """One tqdm bar per stage on the terminal. Stages run one after another, so a new
    stage closes the previous bar; a count may go back (rows a final pass rejects)."""

    def __init__(self):
        super().__init__()
        self.stage, self.bar = None, None

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        # `stage`, `total` and `done` come in the record's `extra` (see `Progress`).
        stage, total, done = (getattr(record, name) for name in ("stage", "total", "done"))
        if stage != self.stage or self.bar is None:
            self.close_bar()
            self.stage = stage
            self.bar = tqdm(total=total, desc=f"  {stage}", leave=True,
                            dynamic_ncols=True, bar_format="{desc}: {n}/{total} "
                            "|{bar:30}| {elapsed}")
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.stage, self.bar = None, None

    def close(self) -> None:
        self.close_bar()
        super().close()


@contextmanager
def attached(handler: logging.Handler):
    """`handler` receives progress while the block runs."""
    LOGGER.addHandler(handler)
    try:
        yield handler
    finally:
        LOGGER.removeHandler(handler)
        handler.close()


def quiet_transformers() -> None:
    """No progress bars or load reports from transformers on a user's console: loading a
    checkpoint into a new classification head reports the head as "missing" every time,
    which is expected, not news."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
