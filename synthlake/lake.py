"""The lake: Delta tables (via `deltalake`) in a local folder or on object storage, and
DuckDB over them.

The root is a folder, or any URI deltalake writes to (`s3://bucket/lake`, `gs://`,
`az://`, `abfss://`, `file://`); credentials and endpoints come from the environment,
the variables deltalake's object store reads (`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`,
`AWS_REGION`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`, ...).
What is not a table lives in `Lake.local`: the lake folder itself when it is local, else
a local folder named after the URI under `SYNTHLAKE_STATE_DIR`, never written under an
object-store path as if it were a folder. The lake names each of those folders once:

    <local>/_journal/llm.sqlite     Lake.journal       every LLM answer (synthlake.llm.journal)
    <local>/_reports/               Lake.reports()     the report page and every plot
    <local>/_models/<task>/...      Lake.models(...)   saved fine-tuned models
    <local>/_runs/<run_id>/         Lake.run_pins(id)  the task specs a Dagster run pinned
    <local>/_locks/                 (table creation, across processes)

Every write is one Delta commit. Writes are scoped to a partition (for example
`{"task": "ag_news", "method": "few_shot"}`): the rows of that partition are replaced
atomically and every other partition is left as it was. Every row carries the `run_id`
of the run that wrote it.

DuckDB reads the tables through `deltalake` (`DeltaTable.to_pyarrow_dataset()`), because
DuckDB's own `delta` extension is downloaded at run time and the machines are offline.
That also gives time travel: `Lake.connect(versions={"real_examples": 3})`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import random
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from synthlake import settings, tables, vocabulary
from synthlake.tables import Table, TableSchemaError

SQL_DIR = Path(__file__).resolve().parent / "sql"  # shipped in the package; `sql/` links here
COMMIT_ATTEMPTS = 8


class LakeError(RuntimeError):
    pass


REMOTE_SCHEMES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "abfss://",
                  "adl://", "azure://")


def default_root() -> str:
    return settings.value("SYNTHLAKE_LAKE")


def is_remote(root: str) -> bool:
    return root.lower().startswith(REMOTE_SCHEMES)


def local_state_for(uri: str) -> Path:
    """The local folder of a remote lake's journal, reports, models and pins."""
    import re

    return settings.path("SYNTHLAKE_STATE_DIR") / re.sub(r"[^A-Za-z0-9._-]+", "_", uri).strip("_")


def sql_literal(value: object) -> str:
    """A value as a SQL literal for a Delta predicate (strings single-quoted, quotes doubled)."""
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def partition_predicate(partition: Mapping[str, object]) -> str:
    return " AND ".join(f"{col} = {sql_literal(val)}" for col, val in partition.items())


class Lake:
    """Delta tables under one root (a folder or a URI), one per name, each declared in
    `tables.py` (a test of the lake's mechanics may pass its own declarations).

    `root` is a `Path` for a local lake and the URI string for a remote one; `local` is
    the local folder of everything that is not a table."""

    def __init__(self, root: str | Path | None = None,
                 declared: Mapping[str, Table] = tables.TABLES):
        given = str(root or default_root())
        self.remote = is_remote(given)
        if self.remote:
            self.root: Path | str = given.rstrip("/")
            self.local = local_state_for(self.root)
        else:
            folder = given.removeprefix("file://")
            self.root = self.local = Path(folder).expanduser().resolve()
        self.declared = declared

    @property
    def journal(self) -> Path:
        """The response journal (beside the tables, never inside one)."""
        return self.local / "_journal" / "llm.sqlite"

    def reports(self) -> Path:
        """The folder of the report page and the plots, created on first use."""
        return self._folder("_reports")

    def models(self, *parts: str) -> Path:
        """The folder of one saved model (`models(task, source, classifier, "seed0")`)."""
        return self.local.joinpath("_models", *parts)

    def run_pins(self, run_id: str) -> Path:
        """The folder where a Dagster run pins the task specs it read."""
        return self.local / "_runs" / run_id

    def _folder(self, name: str) -> Path:
        path = self.local / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path(self, table: str) -> Path | str:
        return f"{self.root}/{table}" if self.remote else self.local / table

    def exists(self, table: str) -> bool:
        if not self.remote:
            return (self.local / table / "_delta_log").is_dir()
        try:
            DeltaTable(self.path(table))
            return True
        except TableNotFoundError:
            return False

    def tables(self) -> list[str]:
        if self.remote:  # object stores are not listed: the declared tables are probed
            return [name for name in sorted(self.declared) if self.exists(name)]
        if not self.local.is_dir():  # a local lake's root is its local folder
            return []
        return sorted(p.name for p in self.local.iterdir() if (p / "_delta_log").is_dir())

    def version(self, table: str) -> int | None:
        try:
            return self.delta(table).version()
        except LakeError:
            return None

    def delta(self, table: str, version: int | None = None) -> DeltaTable:
        # Opened at once, not probed first: on an object store each probe is a round trip.
        try:
            return DeltaTable(self.path(table), version=version)
        except TableNotFoundError:
            raise LakeError(f"table {table!r} does not exist in {self.root}") from None

    def write_partition(
        self,
        table: str,
        data: pa.Table,
        partition: Mapping[str, str],
        run_id: str,
        description: str | None = None,
    ) -> int:
        """Replace one partition's rows with `data` in a single commit; return the version.
        An empty `partition` replaces the whole table.

        `data` must hold only rows of that partition (checked). Concurrent writers to other
        partitions are fine: a commit conflict is retried with backoff, and after
        `COMMIT_ATTEMPTS` failures the error is raised, never swallowed.
        """
        spec = self._declaration(table)
        undeclared = [col for col in partition if col not in spec.partition_by]
        if undeclared:
            raise LakeError(f"{table}: not partitioned by {undeclared} (declared: "
                            f"{list(spec.partition_by)})")
        data = self._conform(spec, data, run_id)
        _check_rows_in_partition(table, data, partition)
        metadata = {"run_id": run_id, "partition": json.dumps(dict(partition), sort_keys=True),
                    **({"description": description} if description else {})}
        predicate = partition_predicate(partition) if partition else None
        return self._commit(table, data, "overwrite", metadata, list(spec.partition_by),
                            predicate, f"writing {table} {dict(partition)}")

    def append(self, table: str, data: pa.Table, run_id: str) -> int:
        """Append rows in one commit (for logs such as `quality_results`); return its version."""
        spec = self._declaration(table)
        data = self._conform(spec, data, run_id)
        return self._commit(table, data, "append", {"run_id": run_id}, list(spec.partition_by),
                            None, f"appending to {table}")

    def _declaration(self, table: str) -> Table:
        if table not in self.declared:
            raise LakeError(f"table {table!r} is not declared (synthlake/tables.py)")
        return self.declared[table]

    @staticmethod
    def _conform(spec: Table, data: pa.Table, run_id: str) -> pa.Table:
        try:
            return _with_run_id(tables.conform(spec, data), run_id)
        except TableSchemaError as exc:
            raise LakeError(str(exc)) from exc

    def _commit(self, table: str, data: pa.Table, mode: str, metadata: dict[str, str],
                partition_by: list[str], predicate: str | None, what: str) -> int:
        """One Delta commit; return its version. Retried with backoff when another writer
        committed first; after `COMMIT_ATTEMPTS` the error is raised, never swallowed.

        The version is this commit's own: `write_deltalake` moves a `DeltaTable` passed to
        it to the version it committed, while the table's latest version (or its history,
        read while others commit) may already be someone else's. A table that does not
        exist yet is created with mode "error" by one writer at a time (`_creating`); its
        commit is version 0."""
        properties = CommitProperties(custom_metadata=metadata)
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            if not self.exists(table):
                with self._creating(table):
                    if not self.exists(table):
                        write_deltalake(self.path(table), data, mode="error",
                                        partition_by=partition_by or None,
                                        commit_properties=properties)
                        return 0
                # another writer created it meanwhile: append into its table
            try:
                current = DeltaTable(self.path(table))
                # "merge": a column declared since the table was created is added (older
                # rows read as null); data is conformed first, so nothing undeclared comes in.
                # (mypy cannot pick an overload for a `mode` that is append or overwrite)
                write_deltalake(current, data, mode=mode, predicate=predicate,  # type: ignore[call-overload]
                                schema_mode="merge", commit_properties=properties)
                return current.version()
            except (CommitFailedError, DeltaError) as exc:
                if attempt == COMMIT_ATTEMPTS or not _is_conflict(exc):
                    raise LakeError(f"{what} failed: {exc}") from exc
                time.sleep(random.uniform(0.05, 0.2) * attempt)
        raise LakeError(f"{what} failed: no commit stood after {COMMIT_ATTEMPTS} attempts")

    @contextlib.contextmanager
    def _creating(self, table: str) -> Iterator[None]:
        """One creator per table at a time, across processes: on a local file system two
        racing creates can each see their commit succeed while only one stands as
        version 0, so creation is serialized by an exclusive file lock. (On an object
        store the lock is local to this machine; creation there relies on the store's
        conditional writes, as every other commit does.)"""
        locks = self._folder("_locks")
        with open(locks / f"{table}.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def schema_mismatches(self) -> dict[str, list[str]]:
        """Tables of the lake whose stored schema is not their declaration, with how."""
        found = {}
        for table in self.tables():
            problems = (tables.mismatches(self.declared[table], self.read(table).schema)
                        if table in self.declared else ["not declared"])
            if problems:
                found[table] = problems
        return found

    def read(
        self,
        table: str,
        where: Mapping[str, object] | None = None,
        version: int | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Rows of a table (optionally one partition, one version, some columns)."""
        dataset = self.delta(table, version).to_pyarrow_dataset()
        expr = None
        for col, val in (where or {}).items():
            term = pc.field(col) == val
            expr = term if expr is None else expr & term
        return dataset.to_table(filter=expr, columns=columns)


    def history(self, table: str) -> list[dict]:
        """Commits, newest first, with `run_id` and `partition` (a dict) where written."""
        entries = self.delta(table).history()
        for entry in entries:
            entry["partition"] = json.loads(entry["partition"]) if entry.get("partition") else None
        return entries

    def connect(self, versions: Mapping[str, int] | None = None) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with every lake table registered under its own name (a
        declared table not written yet as an empty one, so a query over it says "no rows"
        rather than failing), the `vocabulary` of stored words (kind | value | position,
        from `vocabulary.py`), and the derived views of `sql/views.sql`."""
        versions = dict(versions or {})
        unknown = set(versions) - set(self.tables())
        if unknown:
            raise LakeError(f"time travel asked for tables not in the lake: {sorted(unknown)}")
        con = duckdb.connect()
        con.register("vocabulary", pa.Table.from_pylist(vocabulary.rows()))
        stored = self.tables()
        for table in stored:
            con.register(table, self.delta(table, versions.get(table)).to_pyarrow_dataset())
        for name, declared in self.declared.items():
            if name not in stored:
                con.register(name, declared.schema.empty_table())
        for statement in sql_statements_of(SQL_DIR / "views.sql"):
            # A view over an undeclared table a test lake lacks is skipped.
            with contextlib.suppress(duckdb.CatalogException):
                con.execute(statement)
        return con


def _with_run_id(data: pa.Table, run_id: str) -> pa.Table:
    column = pa.array([run_id] * data.num_rows, pa.string())
    if "run_id" in data.column_names:
        return data.set_column(data.column_names.index("run_id"), "run_id", column)
    return data.append_column("run_id", column)


def _check_rows_in_partition(table: str, data: pa.Table, partition: Mapping[str, str]) -> None:
    for col, val in partition.items():
        if col not in data.column_names:
            raise LakeError(f"{table}: partition column {col!r} missing from the data")
        values = set(data.column(col).unique().to_pylist())
        if values - {val}:
            raise LakeError(f"{table}: rows outside partition {col}={val!r}: {sorted(values - {val})}")


def _is_conflict(exc: Exception) -> bool:
    """Another writer committed first (or created the table first): worth a retry."""
    if isinstance(exc, CommitFailedError):
        return True
    if isinstance(exc, TableNotFoundError):
        return False
    text = str(exc).lower()
    return any(word in text for word in ("conflict", "concurrent", "already exists"))


def sql_statements_of(path: Path) -> list[str]:
    return split_sql(path.read_text()) if path.exists() else []


def split_sql(text: str) -> list[str]:
    """Statements of a SQL script, split on `;` at line ends; comment lines dropped."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    statements = "\n".join(lines).split(";\n")
    return [s.strip().rstrip(";").strip() for s in statements if s.strip().rstrip(";").strip()]


def query_file(lake: Lake, name: str, con=None):
    """The last statement of `sql/<name>` as a pandas frame; empty when its tables are
    missing (every SQL reader: the report, the assets, coverage, the demo)."""
    con = con or lake.connect()
    *setup, last = split_sql((SQL_DIR / name).read_text())
    try:
        for statement in setup:
            con.execute(statement)
        return con.sql(last).df()
    except duckdb.CatalogException:
        return pd.DataFrame()
