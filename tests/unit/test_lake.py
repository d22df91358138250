import multiprocessing as mp

import pyarrow as pa
import pytest

from synthlake import tables
from synthlake.lake import Lake, LakeError

# The lake's mechanics on small tables of their own (the pipeline's are in tables.py).
COLUMNS = (("task", pa.string(), ""), ("method", pa.string(), ""), ("x", pa.int64(), ""))
DECLARED = {name: tables.Table(name, "test table", ("task", "method"), COLUMNS)
            for name in ("t", "shared")}


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path / "lake", DECLARED)


def rows(task: str, method: str, n: int) -> pa.Table:
    return pa.table({"task": [task] * n, "method": [method] * n, "x": list(range(n))})


def test_writes_are_conformed_to_the_declared_schema(lake):
    lake.write_partition("t", pa.table({"x": pa.array([1, 2], pa.int32()), "method": ["m", "m"],
                                        "task": ["a", "a"]}), {"task": "a"}, "r1")
    assert lake.read("t").schema == tables.Table("t", "", (), COLUMNS).schema
    with pytest.raises(LakeError, match=r"'t': missing columns \['x'\], undeclared \['y'\]"):
        lake.write_partition("t", pa.table({"task": ["a"], "method": ["m"], "y": [1]}),
                             {"task": "a"}, "r2")
    with pytest.raises(LakeError, match=r"'t', column 'x': string does not cast"):
        lake.write_partition("t", pa.table({"task": ["a"], "method": ["m"], "x": ["many"]}),
                             {"task": "a"}, "r3")
    with pytest.raises(LakeError, match="'elsewhere' is not declared"):
        lake.write_partition("elsewhere", rows("a", "m", 1), {"task": "a"}, "r4")
    assert lake.version("t") == 0, "nothing written by a refused write"


def test_partition_overwrite_replaces_only_that_partition(lake):
    lake.write_partition("t", rows("a", "m1", 3), {"task": "a", "method": "m1"}, "r1")
    lake.write_partition("t", rows("a", "m2", 4), {"task": "a", "method": "m2"}, "r2")
    lake.write_partition("t", rows("b", "m1", 5), {"task": "b", "method": "m1"}, "r3")
    version = lake.write_partition("t", rows("a", "m1", 2), {"task": "a", "method": "m1"}, "r4")
    assert version == 3, "one Delta commit per write"
    table = lake.read("t").to_pandas()
    counts = table.groupby(["task", "method", "run_id"]).size().to_dict()
    assert counts == {("a", "m1", "r4"): 2, ("a", "m2", "r2"): 4, ("b", "m1", "r3"): 5}


def test_a_column_declared_later_is_added_on_the_next_write(tmp_path):
    """A lake made before a column was declared takes it on the next write: the other
    partitions keep their rows, with nulls in the new column."""
    Lake(tmp_path / "lake", DECLARED).write_partition(
        "t", rows("a", "m", 2), {"task": "a", "method": "m"}, "r1")
    wider = COLUMNS + (("y", pa.float64(), ""),)
    lake = Lake(tmp_path / "lake", {"t": tables.Table("t", "", ("task", "method"), wider)})
    lake.write_partition("t", pa.table({"task": ["b"], "method": ["m"], "x": [7], "y": [0.5]}),
                         {"task": "b", "method": "m"}, "r2")
    stored = lake.read("t").to_pandas().sort_values("task")
    assert stored["task"].tolist() == ["a", "a", "b"]
    assert stored["y"].isna().tolist() == [True, True, False]
    assert lake.schema_mismatches() == {}


def test_rows_outside_the_partition_are_refused(lake):
    with pytest.raises(LakeError, match="rows outside partition task='a'"):
        lake.write_partition("t", rows("b", "m1", 1), {"task": "a"}, "r1")
    assert not lake.exists("t")


def test_time_travel_through_duckdb(lake):
    lake.write_partition("t", rows("a", "m1", 3), {"task": "a"}, "r1")
    lake.write_partition("t", rows("a", "m1", 7), {"task": "a"}, "r2")
    now = lake.connect().sql("select count(*) from t").fetchall()[0][0]
    then = lake.connect({"t": 0}).sql("select count(*) from t").fetchall()[0][0]
    assert (now, then) == (7, 3)


def _writer(root: str, task: str, n_writes: int, versions) -> None:
    lake = Lake(root, DECLARED)
    for i in range(n_writes):
        version = lake.write_partition("shared", rows(task, f"m{i}", 10),
                                       {"task": task, "method": f"m{i}"}, f"{task}-{i}")
        versions.put((task, f"m{i}", version))


def test_concurrent_writers_lose_no_rows_and_each_gets_its_own_version(tmp_path):
    root = str(tmp_path / "lake")
    ctx = mp.get_context("spawn")
    versions = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(root, t, 6, versions)) for t in ("a", "b", "c")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    table = Lake(root).read("shared").to_pandas()
    assert len(table) == 3 * 6 * 10
    assert table.groupby(["task", "method"]).size().eq(10).all()
    # The version a write returns is its own commit, not the latest at the time of asking.
    commits = {e["version"]: e["partition"] for e in Lake(root).history("shared")}
    returned = [versions.get(timeout=10) for _ in range(18)]
    assert sorted(v for *_, v in returned) == sorted(commits)
    for task, method, version in returned:
        assert commits[version] == {"task": task, "method": method}


def test_the_lake_owns_its_local_folders_and_none_is_a_table(tmp_path, monkeypatch):
    """A local lake keeps its journal, reports, models and run pins inside itself; a lake
    on object storage keeps them under SYNTHLAKE_STATE_DIR, in a folder of its own."""
    local = Lake(tmp_path / "lake")
    local.write_partition("task_catalog", tables.from_rows("task_catalog", [{"task": "t"}]), {}, "r")
    monkeypatch.setenv("SYNTHLAKE_STATE_DIR", str(tmp_path / "state"))
    remote = Lake("s3://bucket/some/lake")
    for lake, home in ((local, tmp_path / "lake"), (remote, tmp_path / "state")):
        folders = [lake.journal, lake.reports(), lake.models("t", "real", "finetune", "seed0"),
                   lake.run_pins("run-1")]
        assert all(path.is_relative_to(home) for path in folders), folders
        assert len({path.relative_to(lake.local).parts[0] for path in folders}) == 4
    assert remote.local != tmp_path / "state" and remote.local.parent == tmp_path / "state"
    assert Lake("s3://bucket/other").local != remote.local
    assert local.tables() == ["task_catalog"], "the lake's own folders are not tables"
