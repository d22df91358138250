"""Generation versions, their diff, and exports that load back."""

import pandas as pd
import pyarrow as pa

from synthlake import gates
from synthlake.analysis import export
from synthlake.cli import main as cli
from synthlake.generation.generate import SYNTHETIC_SCHEMA
from synthlake.measures import versions


def write_generation(lake, n: int, model: str, method: str = "few_shot", offset: int = 0,
                     judge: str | None = None) -> int:
    """Every fifth row rejected as too long; with a `judge`, every seventh as a label
    mismatch, and the judge finds the requested label in the rest but every third."""
    rows = [{
        "task": "sms_spam", "method": method, "label": ["ham", "spam"][i % 2],
        "text": f"text {i + offset} about {['dinner', 'a prize', 'work'][i % 3]} number {i * 13}",
        "example_id": f"{method}-{i}-{offset}", "request_key": f"k{i}-{offset}", "model": model,
        "prompt_version": "p1", "temperature": 1.0, "seed": i, "slot": f"q{i}",
        "demo_example_ids": [], "diversity_prompted": False,
        "status": "accepted" if i % 5 else "rejected", "reason": None if i % 5 else "too long",
        "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
        **({"fidelity_judge": judge, "p_requested": 0.9,
            "judged_label": ["ham", "spam"][(i + (i % 3 == 0)) % 2]} if judge else {}),
    } for i in range(n)]
    for row in rows:
        if judge and row["status"] == "accepted" and int(row["slot"][1:]) % 7 == 0:
            row.update(status="rejected", reason="label mismatch")
    return lake.write_partition("synthetic_examples", pa.Table.from_pylist(rows, schema=SYNTHETIC_SCHEMA),
                                {"task": "sms_spam", "method": method}, f"run-{model}")


def test_history_and_diff_of_generation_versions(lake, capsys):
    v0 = write_generation(lake, 10, "model-a")
    write_generation(lake, 6, "model-a", method="zero_shot")
    v2 = write_generation(lake, 20, "model-b", offset=100, judge="seed_classifier")
    frame = versions.history(lake, "sms_spam")
    assert list(frame.version) == [0, 1, 2]
    assert list(frame.method) == ["few_shot", "zero_shot", "few_shot"]
    assert list(frame.accepted) == [8, 4, 14] and list(frame.model)[2] == "model-b"
    assert list(frame.label_filter) == ["none", "none", "seed_classifier"]
    assert list(frame.label_mismatch) == [0, 0, 2]  # slots 7 and 14
    # accepted slots 1 2 3 4 6 8 9 11 12 13 16 17 18 19; slots 3 6 9 12 18 judged otherwise
    assert frame.judge_agreement.iloc[2] == round(9 / 14, 3)
    result = versions.diff(lake, "sms_spam", v0, v2)
    assert result["from"]["accepted"] == 8 and result["to"]["accepted"] == 14
    assert result["to"]["reasons"] == {"label mismatch": 2, "too long": 4}
    assert 0 < result["from"]["remote_clique"] < 2
    assert cli(["--lake", str(lake.root), "diff", "--task", "sms_spam", "--from", "0", "--to", "2"]) == 0
    out = capsys.readouterr().out
    assert "accepted       v0: 8" in out and "label_filter   v0: none" in out
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


def test_a_failed_gate_keeps_only_that_methods_current_generation_out_of_training(lake):
    """The blocking checks of each method's current generation decide: a failure of an
    older version, or an advisory failure, gates nothing; the other method still trains."""
    from synthlake import tables
    from synthlake.catalog import get_task
    from synthlake.evaluation import train

    def checked(method: str, version: int, suite: str, passed: bool, advisory: bool = False):
        lake.append("quality_results", tables.from_rows("quality_results", [{
            "task": "sms_spam", "method": method, "checked_table": "synthetic_examples",
            "delta_version": version, "suite": suite, "expectation": "e", "passed": passed,
            "advisory": advisory}]), "r")

    old_few = write_generation(lake, 10, "m", method="few_shot")
    checked("few_shot", old_few, "label_fidelity", passed=False)
    zero = write_generation(lake, 10, "m", method="zero_shot")
    checked("zero_shot", zero, "label_fidelity", passed=False)
    checked("zero_shot", zero, "label_balance", passed=False)
    checked("zero_shot", zero, "duplicates", passed=True)
    few = write_generation(lake, 10, "m", method="few_shot", offset=50)
    checked("few_shot", few, "label_fidelity", passed=False, advisory=True)
    gated = gates.failed_gates(lake, "sms_spam")
    assert gated == {"zero_shot": ["label_balance", "label_fidelity"]}
    real = pd.DataFrame({"example_id": ["r1", "r2"], "text": ["a", "b"], "label": ["ham", "spam"],
                         "origin": "real"})
    sources = train.training_sources(lake, get_task("sms_spam"), train.TrainConfig(), real,
                                      gated)
    assert "few_shot" in sources and "zero_shot" not in sources
    assert "zero_shot" in train.training_sources(lake, get_task("sms_spam"),
                                                 train.TrainConfig(), real)
