import pyarrow.parquet as pq
import pytest

from synthlake.catalog import get_task, load_catalog
from synthlake.realdata import RealDataError, load_real, write_real_examples
from tests.support.data import SHARED_DATA, write_user_task


@pytest.mark.parametrize("task", sorted(load_catalog()))
def test_counts_match_source_files_minus_reported_drops(task):
    spec = get_task(task)
    real = load_real(spec)
    folder = SHARED_DATA / spec.data.local
    for split in ("train", "validation", "test"):
        path = folder / f"{split}.parquet"
        if not path.exists():
            continue
        source_rows = pq.read_metadata(path).num_rows
        dropped = sum(d.count for d in real.drops if d.split == split)
        kept = sum(real.counts().get(split, {}).values())
        assert kept == source_rows - dropped, (split, source_rows, dropped)
    ids = real.examples.column("example_id").to_pylist()
    assert len(ids) == len(set(ids)), "example_id must be unique within a task"


def test_example_ids_are_stable():
    spec = get_task("sms_spam")
    first = load_real(spec).examples.column("example_id").to_pylist()
    second = load_real(spec).examples.column("example_id").to_pylist()
    assert first == second


def test_no_text_in_two_splits():
    real = load_real(get_task("imdb")).examples.to_pandas()
    assert not real.groupby("text")["split"].nunique().gt(1).any()


# case -> (file to write, its bytes (None: delete the file), what the error must say)
BAD_DATA = {
    "label-not-in-spec": ("train.csv", b'text,label\n"fine text",billing\n"what",refund\n',
                          "train.csv: row 2 has label 'refund'"),
    "missing-text-column": ("train.csv", b"body,label\nhello,billing\n",
                            "train.csv: missing column 'text'"),
    "empty-file": ("test.csv", b"", "test.csv: file is empty"),
    "header-only": ("test.csv", b"text,label\n", "test.csv: file has no rows"),
    "non-utf8": ("train.csv", b"text,label\nok,billing\ncaf\xe9 bill,billing\n",
                 "train.csv: line 3 is not valid UTF-8 (byte 0xe9"),
    "bad-jsonl": ("train.jsonl", b'{"text": "a", "label": "billing"}\n{"text": oops}\n',
                  "train.jsonl: line 2 is not valid JSON"),
    "missing-test-split": ("test.csv", None, "no test file"),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_named_and_nothing_is_written(user_task, lake, case):
    spec = get_task(user_task["name"])
    write_real_examples(lake, spec, "run-good")
    version_before = lake.version("real_examples")
    name, content, expected = BAD_DATA[case]
    folder = user_task["folder"]
    if name.endswith(".jsonl"):
        (folder / "train.csv").unlink()  # one file per split: the JSONL replaces the CSV
    if content is None:
        (folder / name).unlink()
    else:
        (folder / name).write_bytes(content)
    with pytest.raises(RealDataError) as err:
        write_real_examples(lake, spec, "run-bad")
    assert expected in str(err.value)
    assert lake.version("real_examples") == version_before


def test_user_task_with_csv_folder(user_task, lake):
    spec = get_task(user_task["name"])
    real, _ = write_real_examples(lake, spec, "run-1")
    assert real.counts() == {"train": {"billing": 3, "other": 3}, "test": {"billing": 1, "other": 1}}
    rows = lake.read("real_examples", where={"task": "support_tickets"})
    assert set(rows.column("run_id").to_pylist()) == {"run-1"}


def test_duplicates_empty_texts_and_overlap_are_dropped_and_reported(tmp_path, monkeypatch):
    rows = {
        "train": [("same", "billing"), ("same", "billing"), (" ", "other"),
                  ("also in test", "other"), ("unique", "other")],
        "test": [("also in test", "other"), ("x", "billing")],
    }
    write_user_task(tmp_path / "tasks", tmp_path / "data", rows=rows)
    monkeypatch.setenv("SYNTHLAKE_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(tmp_path / "data"))
    real = load_real(get_task("support_tickets"))
    reasons = {(d.split, d.reason.split(" ")[0]): d.count for d in real.drops}
    assert reasons == {("train", "empty"): 1, ("train", "repeated"): 1, ("train", "text"): 1}
    assert real.counts()["train"] == {"billing": 1, "other": 1}


def test_an_oversized_text_is_dropped_or_cut_and_counted(tmp_path, monkeypatch):
    huge = "word " * 2_000_000  # 10 MB
    rows = {"train": [("short and fine", "billing"), (huge, "billing"), ("the app crashes", "other")],
            "test": [("why is my bill high", "billing"), ("button does nothing", "other")]}
    tasks, data = tmp_path / "tasks", tmp_path / "data"
    write_user_task(tasks, data, rows=rows)
    monkeypatch.setenv("SYNTHLAKE_TASKS_DIR", str(tasks))
    monkeypatch.setenv("SYNTHLAKE_DATA_DIR", str(data))
    real = load_real(get_task("support_tickets"))
    assert real.examples.num_rows == 4
    assert [(d.split, d.count) for d in real.drops if "max_chars" in d.reason] == [("train", 1)]
    path = tasks / "support_tickets.yaml"
    path.write_text(path.read_text().replace("data:\n  local: support_tickets",
                                             "data:\n  local: support_tickets\n  max_chars: 100"
                                             "\n  oversize: truncate"))
    cut = load_real(get_task("support_tickets"))
    assert cut.examples.num_rows == 5
    assert max(len(t) for t in cut.examples.column("text").to_pylist()) == 100
    assert [d.removes_rows for d in cut.drops if "max_chars" in d.reason] == [False]


def test_a_dev_file_is_the_validation_split_and_other_files_are_named(user_task):
    folder = user_task["folder"]
    (folder / "dev.csv").write_text('text,label\n"a refund question",billing\n"a crash",other\n')
    (folder / "notes.txt").write_text("not data")
    real = load_real(get_task("support_tickets"))
    assert real.counts()["validation"] == {"billing": 1, "other": 1}
    assert real.ignored_files == ["notes.txt"]
    (folder / "validation.csv").write_text('text,label\n"x",billing\n')
    with pytest.raises(RealDataError, match="several files for split 'validation'"):
        load_real(get_task("support_tickets"))
