"""Generation versions, their diff, and exports that load back."""

import pandas as pd
import pyarrow as pa

from synthlake import export, versions
from synthlake.cli import main as cli
from synthlake.generate import SYNTHETIC_SCHEMA


def write_generation(lake, n: int, model: str, method: str = "few_shot", offset: int = 0) -> int:
    rows = [{
        "task": "sms_spam", "method": method, "label": ["ham", "spam"][i % 2],
        "text": f"text {i + offset} about {['dinner', 'a prize', 'work'][i % 3]} number {i * 13}",
        "example_id": f"{method}-{i}-{offset}", "request_key": f"k{i}-{offset}", "model": model,
        "prompt_version": "p1", "temperature": 1.0, "seed": i, "slot": f"q{i}",
        "demo_example_ids": [], "diversity_prompted": False,
        "status": "accepted" if i % 5 else "rejected", "reason": None if i % 5 else "too long",
        "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
    } for i in range(n)]
    return lake.write_partition("synthetic_examples", pa.Table.from_pylist(rows, schema=SYNTHETIC_SCHEMA),
                                {"task": "sms_spam", "method": method}, f"run-{model}")


def test_history_and_diff_of_generation_versions(lake, capsys):
    v0 = write_generation(lake, 10, "model-a")
    write_generation(lake, 6, "model-a", method="zero_shot")
    v2 = write_generation(lake, 20, "model-b", offset=100)
    frame = versions.history(lake, "sms_spam")
    assert list(frame.version) == [0, 1, 2]
    assert list(frame.method) == ["few_shot", "zero_shot", "few_shot"]
    assert list(frame.accepted) == [8, 4, 16] and list(frame.model)[2] == "model-b"
    result = versions.diff(lake, "sms_spam", v0, v2)
    assert result["from"]["accepted"] == 8 and result["to"]["accepted"] == 16
    assert result["to"]["reasons"] == {"too long": 4}
    assert 0 < result["from"]["remote_clique"] < 2
    assert cli(["--lake", str(lake.root), "diff", "--task", "sms_spam", "--from", "0", "--to", "2"]) == 0
    assert "accepted       v0: 8" in capsys.readouterr().out
    assert cli(["--lake", str(lake.root), "diff", "--task", "sms_spam", "--from", "0", "--to", "9"]) == 2


def test_exports_load_back_with_the_same_rows(lake, tmp_path):
    import datasets

    write_generation(lake, 12, "model-a")
    expected = export.accepted_rows(lake, "sms_spam", "few_shot")
    export.export(lake, "sms_spam", "few_shot", "parquet", tmp_path / "pq")
    back = pd.read_parquet(tmp_path / "pq" / "sms_spam.parquet")
    pd.testing.assert_frame_equal(back, expected)
    export.export(lake, "sms_spam", "few_shot", "jsonl", tmp_path / "jl")
    back = pd.read_json(tmp_path / "jl" / "sms_spam.jsonl", lines=True, dtype=False)
    assert back["text"].tolist() == expected["text"].tolist()
    export.export(lake, "sms_spam", "few_shot", "hf", tmp_path / "hf")
    dataset = datasets.load_from_disk(str(tmp_path / "hf"))
    assert dataset.to_pandas()[expected.columns.tolist()].equals(expected)
    card = (tmp_path / "hf" / "README.md").read_text()
    ham = int((expected.label == "ham").sum())
    assert "model-a" in card and f"few_shot/ham: {ham}" in card and "EMNLP 2023" in card
