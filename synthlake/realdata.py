"""Real labelled data of a task: read, validate, de-duplicate, give stable ids.

Input: `<SYNTHLAKE_DATA_DIR>/<data.local>/{train,validation,test}.{parquet,csv,jsonl}`
(train and test required; `dev`, `valid` or `val` name the validation split; any other
file of the folder is listed in `RealData.ignored_files`), or, when that folder is absent
and the task names a hub dataset, the Hugging Face hub through `datasets` (needs a network).

Output columns of `real_examples` (one row per kept text):

    task | split | example_id | text | label | source

`example_id` is a hash of (task, text), stable across runs and machines. Rows are dropped,
never silently: empty texts, repeated texts within a split, and texts of train or
validation that also occur in a later split (test wins, then validation) are each
counted in `RealData.drops`, and so are texts longer than `data.max_chars` (dropped, or
cut to that length with `data.oversize: truncate`). Anything that makes the data unusable (a missing column, a
label outside the spec, an empty file, bytes that are not UTF-8) raises `RealDataError`
naming the file and the column or row; nothing is written then.

`real_annotations` columns (where the task declares annotations):

    task | example_id | annotator_id | label | agreement | kind
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthlake import settings, tables
from synthlake.catalog import TaskSpec
from synthlake.lake import Lake

SPLITS = ("train", "validation", "test")
# Other names a split's file goes by; `dev.parquet` is a validation split.
SPLIT_ALIASES = {"train": ("train",), "validation": ("validation", "dev", "valid", "val"),
                 "test": ("test",)}
REQUIRED_SPLITS = ("train", "test")
FORMATS = (".parquet", ".csv", ".jsonl")
# A split's texts are removed from the splits before it (test wins over everything).
OVERLAP_ORDER = ("test", "validation", "train")

REAL_SCHEMA = tables.TABLES["real_examples"].data_schema
ANNOTATION_SCHEMA = tables.TABLES["real_annotations"].data_schema


class RealDataError(ValueError):
    """Real data that cannot be used; the message names the file and the column or row."""


@dataclass
class Drop:
    """Rows of a split that were removed (or, for `removes_rows=False`, changed)."""

    split: str
    reason: str
    count: int
    removes_rows: bool = True


@dataclass
class RealData:
    task: str
    examples: pa.Table
    drops: list[Drop] = field(default_factory=list)
    source: str = ""
    ignored_files: list[str] = field(default_factory=list)  # in the folder, not a split

    def ignored_notes(self) -> list[str]:
        """One line per file of the data folder that was not read."""
        return [f"{name}: not read (not a split: train, validation/dev, test)"
                for name in self.ignored_files]

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {label: rows}} of the kept examples."""
        frame = self.examples.select(["split", "label"]).to_pandas()
        grouped = frame.groupby(["split", "label"]).size()
        out: dict[str, dict[str, int]] = {}
        for (split, label), n in grouped.items():
            out.setdefault(split, {})[label] = int(n)
        return out


def example_id(task: str, text: str) -> str:
    return hashlib.sha256(f"{task}\x1f{text}".encode()).hexdigest()[:16]


def data_dir() -> Path:
    return settings.path("SYNTHLAKE_DATA_DIR")


def load_real(spec: TaskSpec, root: Path | None = None) -> RealData:
    """Read, validate and clean every split of a task's real data."""
    folder = (root or data_dir()) / (spec.data.local or spec.name)
    ignored: list[str] = []
    if folder.is_dir():
        frames = {split: _read_split(folder, split, spec) for split in SPLITS}
        source = str(folder)
        ignored = _ignored_files(folder, spec)
    elif spec.data.hub:
        frames = _read_hub(spec)
        source = f"hub:{spec.data.hub.id}"
    else:
        raise RealDataError(f"{folder}: data folder of task {spec.name!r} not found "
                            "(set SYNTHLAKE_DATA_DIR)")
    drops: list[Drop] = []
    cleaned = {s: _clean_split(f, s, drops, spec) for s, f in frames.items() if f is not None}
    _drop_overlaps(cleaned, drops)
    examples = pd.concat(
        [f.assign(split=s) for s, f in cleaned.items()], ignore_index=True
    )
    examples["task"] = spec.name
    examples["example_id"] = [example_id(spec.name, t) for t in examples["text"]]
    examples["source"] = source
    table = pa.Table.from_pandas(examples[REAL_SCHEMA.names], schema=REAL_SCHEMA,
                                 preserve_index=False)
    return RealData(spec.name, table, drops, source, ignored)


def _locate(folder: Path, split: str) -> Path | None:
    found = [folder / f"{name}{ext}" for name in SPLIT_ALIASES[split] for ext in FORMATS
             if (folder / f"{name}{ext}").exists()]
    if len(found) > 1:
        raise RealDataError(f"{folder}: several files for split {split!r}: {[p.name for p in found]}")
    return found[0] if found else None


def _ignored_files(folder: Path, spec: TaskSpec) -> list[str]:
    """Files of the data folder that are no split and no declared annotations: named,
    so a user sees that `extra.parquet` was not read."""
    used = {f"{name}{ext}" for names in SPLIT_ALIASES.values() for name in names for ext in FORMATS}
    if spec.data.annotations:
        used.add(spec.data.annotations.file)
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and p.name not in used and not p.name.startswith("."))


def read_table_file(path: Path) -> pd.DataFrame:
    """A Parquet, CSV or JSONL file as a DataFrame of strings; errors name file and row."""
    if path.stat().st_size == 0:
        raise RealDataError(f"{path}: file is empty")
    if path.suffix == ".parquet":
        try:
            frame = pq.read_table(path).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise RealDataError(f"{path}: not a readable Parquet file: {exc}") from exc
    else:
        text = _decode_utf8(path)
        if path.suffix == ".csv":
            try:
                frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
            except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                raise RealDataError(f"{path}: not a readable CSV file: {exc}") from exc
        else:
            frame = pd.DataFrame(_parse_jsonl(path, text))
    if frame.empty:
        raise RealDataError(f"{path}: file has no rows")
    return frame


def _decode_utf8(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RealDataError(
            f"{path}: line {line} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); re-encode the file as UTF-8"
        ) from exc


def _parse_jsonl(path: Path, text: str) -> list[dict]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RealDataError(f"{path}: line {number} is not valid JSON: {exc.msg}") from exc
        if not isinstance(row, dict):
            raise RealDataError(f"{path}: line {number} is not a JSON object")
        rows.append(row)
    return rows


def _read_split(folder: Path, split: str, spec: TaskSpec) -> pd.DataFrame | None:
    path = _locate(folder, split)
    if path is None:
        if split in REQUIRED_SPLITS:
            raise RealDataError(f"{folder}: no {split} file ({', '.join(split + e for e in FORMATS)})")
        return None
    return _select_and_map(read_table_file(path), spec, str(path))


def _select_and_map(frame: pd.DataFrame, spec: TaskSpec, where: str) -> pd.DataFrame:
    """Keep text and label and map labels onto the spec. Labels of `data.drop_labels`
    become NA here and are dropped (and counted) by `_clean_split`."""
    data = spec.data
    for column in (data.text_column, data.label_column):
        if column not in frame.columns:
            raise RealDataError(
                f"{where}: missing column {column!r} (columns: {list(frame.columns)})"
            )
    texts = frame[data.text_column]
    if texts.map(lambda t: isinstance(t, bytes)).any():
        raise RealDataError(f"{where}: column {data.text_column!r} holds bytes, not UTF-8 text")
    out = pd.DataFrame({
        "text": texts.astype("string").fillna(""),
        "label": frame[data.label_column].astype("string"),
    })
    dropped = out["label"].isin(data.drop_labels)
    out["label"] = out["label"].map(lambda lab: data.label_map.get(lab, lab)).mask(dropped)
    allowed = set(spec.label_names)
    bad = out[~dropped & ~out["label"].isin(allowed)]
    if not bad.empty:
        row = int(bad.index[0])
        raise RealDataError(
            f"{where}: row {row + 1} has label {bad['label'].iloc[0]!r}, not in the task's "
            f"labels {sorted(allowed)} ({len(bad)} such rows); add it to `labels`, "
            "`data.label_map` or `data.drop_labels`"
        )
    return out


def _clean_split(frame: pd.DataFrame, split: str, drops: list[Drop],
                 spec: TaskSpec) -> pd.DataFrame:
    outside = frame["label"].isna()
    _record(drops, split, "label outside the task's subset (data.drop_labels)", int(outside.sum()))
    frame = frame[~outside]
    frame = _bound_length(frame, split, drops, spec.data.max_chars, spec.data.oversize)
    empty = frame["text"].str.strip() == ""
    _record(drops, split, "empty text", int(empty.sum()))
    frame = frame[~empty]
    repeated = frame["text"].duplicated(keep="first")
    _record(drops, split, "repeated text within split", int(repeated.sum()))
    return frame[~repeated].reset_index(drop=True)


def _bound_length(frame: pd.DataFrame, split: str, drops: list[Drop], max_chars: int,
                  oversize: str) -> pd.DataFrame:
    """Texts longer than `data.max_chars`: one such text would otherwise become a
    demonstration in a few-shot prompt larger than any model's context."""
    long = frame["text"].str.len() > max_chars
    if oversize == "truncate":
        if long.any():
            drops.append(Drop(split, f"text cut to data.max_chars ({max_chars})", int(long.sum()),
                              removes_rows=False))
        return frame.assign(text=frame["text"].str.slice(0, max_chars))
    _record(drops, split, f"text longer than data.max_chars ({max_chars})", int(long.sum()))
    return frame[~long]


def _drop_overlaps(frames: dict[str, pd.DataFrame], drops: list[Drop]) -> None:
    seen: set[str] = set()
    for split in OVERLAP_ORDER:
        if split not in frames:
            continue
        frame = frames[split]
        overlap = frame["text"].isin(seen)
        _record(drops, split, "text also in a later split (test > validation > train)",
                int(overlap.sum()))
        frames[split] = frame[~overlap].reset_index(drop=True)
        seen.update(frames[split]["text"])


def _record(drops: list[Drop], split: str, reason: str, count: int) -> None:
    if count:
        drops.append(Drop(split, reason, count))


def _read_hub(spec: TaskSpec) -> dict[str, pd.DataFrame | None]:
    """The same splits from the Hugging Face hub (online users only)."""
    import datasets  # heavy, and only needed online

    hub = spec.data.hub
    if hub is None:
        raise RealDataError(f"task {spec.name!r} names no hub dataset (data.hub)")
    try:
        loaded = datasets.load_dataset(hub.id, hub.config)
    except Exception as exc:  # the hub client raises many kinds; all mean "not reachable"
        raise RealDataError(f"hub dataset {hub.id!r} ({hub.config}) could not be loaded: {exc}") from exc
    frames: dict[str, pd.DataFrame | None] = {}
    for split in SPLITS:
        name = hub.splits.get(split, split)
        if name not in loaded:
            frames[split] = None
            continue
        frame = loaded[name].to_pandas()
        frame = frame.rename(columns={hub.text_column: spec.data.text_column,
                                      hub.label_column: spec.data.label_column})
        labels = frame[spec.data.label_column].astype(str)
        frame[spec.data.label_column] = labels.map(lambda v: hub.label_names.get(v, v))
        frames[split] = _select_and_map(frame, spec, f"hub:{hub.id}/{name}")
    for split in REQUIRED_SPLITS:
        if frames.get(split) is None:
            raise RealDataError(f"hub dataset {hub.id!r} has no {split} split")
    return frames


def load_annotations(spec: TaskSpec, examples: pa.Table, root: Path | None = None) -> pa.Table:
    """Annotator information for the task's real examples (texts not among `examples`
    are left out). A task that declares no annotations gets an empty table."""
    source = spec.data.annotations
    if source is None:
        return ANNOTATION_SCHEMA.empty_table()
    path = (root or data_dir()) / (spec.data.local or spec.name) / source.file
    if not path.exists():
        raise RealDataError(f"{path}: annotations file declared in the task but not found")
    frame = read_table_file(path)
    needed = [source.text_column] + (
        [source.agreement_column] if source.kind == "agreement_levels"
        else [source.rater_column, source.labels_column]
    )
    for column in needed:
        if column not in frame.columns:
            raise RealDataError(f"{path}: missing column {column!r} (columns: {list(frame.columns)})")
    ids = [example_id(spec.name, t) for t in frame[source.text_column].astype(str)]
    known = set(examples.column("example_id").to_pylist())
    rows = (
        _agreement_rows(frame, source, path) if source.kind == "agreement_levels"
        else _rater_rows(frame, source, spec)
    )
    out = pd.DataFrame(rows)
    out.insert(0, "example_id", ids)
    out.insert(0, "task", spec.name)
    out["kind"] = source.kind
    out = out[out["example_id"].isin(known)]
    return pa.Table.from_pandas(out[ANNOTATION_SCHEMA.names], schema=ANNOTATION_SCHEMA,
                                preserve_index=False)


def _agreement_rows(frame: pd.DataFrame, source, path: Path) -> dict[str, list]:
    tiers = frame[source.agreement_column].astype(str)
    unknown = sorted(set(tiers) - set(source.levels))
    if unknown:
        raise RealDataError(f"{path}: column {source.agreement_column!r} has levels {unknown} "
                            f"not in the task's `annotations.levels` {sorted(source.levels)}")
    return {"annotator_id": [None] * len(frame), "label": [None] * len(frame),
            "agreement": tiers.map(source.levels).astype(float).tolist()}


def _rater_rows(frame: pd.DataFrame, source, spec: TaskSpec) -> dict[str, list]:
    """One row per rating; a rater's comma-joined labels are mapped onto the spec's
    labels and joined again (sorted), so an agreement counts only identical choices."""
    mapping = spec.data.label_map

    def mapped(raw: str) -> str:
        names = {mapping.get(part.strip(), part.strip()) for part in str(raw).split(",") if part.strip()}
        return ",".join(sorted(names))

    return {"annotator_id": frame[source.rater_column].astype(str).tolist(),
            "label": frame[source.labels_column].map(mapped).tolist(),
            "agreement": [None] * len(frame)}


def write_real_examples(lake: Lake, spec: TaskSpec, run_id: str) -> tuple[RealData, int]:
    """Load, validate and write one task's partition of `real_examples` (one commit)."""
    real = load_real(spec)
    version = lake.write_partition("real_examples", real.examples, {"task": spec.name}, run_id)
    return real, version


def write_real_annotations(lake: Lake, spec: TaskSpec, run_id: str) -> tuple[pa.Table, int]:
    """Write one task's partition of `real_annotations` (empty where none exist)."""
    examples = lake.read("real_examples", where={"task": spec.name}, columns=["example_id"])
    annotations = load_annotations(spec, examples)
    version = lake.write_partition("real_annotations", annotations, {"task": spec.name}, run_id)
    return annotations, version
