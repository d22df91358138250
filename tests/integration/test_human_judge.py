"""People judge tasks in the terminal (`synthlake judge`, driven through standard input);
their answers reach `task_subjectivity` at the next materialization."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import defs
from synthlake import realdata
from synthlake.catalog import load_catalog
from synthlake.subjectivity import ranking as subjectivity

TASKS = ["ag_news", "imdb", "sms_spam"]


def judge(lake, answers: str, *options: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "synthlake"), "--lake", str(lake.root),
               "judge", *[f"--task={t}" for t in TASKS], *options]
    return subprocess.run(command, input=answers, capture_output=True, text=True, timeout=120)


def materialize_ranking(lake, instance) -> dict:
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        assets, selection=["pairwise_judgments", "task_subjectivity"], instance=instance,
        resources={"lake": LakeResource(root=str(lake.root)), "llm": LLMResource()},
        run_config={"ops": {"pairwise_judgments": {"config": {"llm_judge": False}}}})
    assert result.success
    ranked = lake.read("task_subjectivity").to_pandas()
    assert set(ranked["method"]) == {"people"}
    return dict(zip(ranked["task"], ranked["n_judgments"], strict=True))


def test_judgments_typed_in_the_terminal_flow_into_the_ranking(lake, dagster_instance):
    specs = load_catalog()
    for name in TASKS:
        realdata.write_real_examples(lake, specs[name], "setup")
    shown = subjectivity.random_pairs(TASKS, 5, seed=3)
    done = judge(lake, "a\nmaybe\nb\ntie\nq\n", "--pairs=5", "--seed=3", "--judge-id=alice")
    assert done.returncode == 0, done.stderr
    assert "please answer a, b, t (tie) or q (quit)" in done.stdout
    assert "-- pair 4 of 5 --" in done.stdout and "-- pair 5 of 5 --" not in done.stdout
    first = subjectivity.card_examples(lake, {n: specs[n] for n in TASKS}, seed=3, k=2)
    assert first[shown[0][0]][0][:60] in done.stdout, "the cards show real examples"
    assert specs["imdb"].labels[0].description in done.stdout
    recorded = lake.read("human_judgments").to_pandas().sort_values("judged_at")
    expected = [shown[0][0], shown[1][1], "tie"]
    assert list(zip(recorded.task_a, recorded.task_b, strict=True)) == shown[:3]
    assert list(recorded.winner) == expected and set(recorded.judge_id) == {"alice"}
    assert lake.version("human_judgments") == 2, "one commit per answer"
    counts = materialize_ranking(lake, dagster_instance)
    assert sum(counts.values()) == 2 * 3

    again = judge(lake, "b\na\n", "--pairs=2", "--judge-id=bob")  # then the input ends
    assert again.returncode == 0 and "recorded 2 judgments as 'bob'" in again.stdout
    assert sum(materialize_ranking(lake, dagster_instance).values()) == 2 * 5


def test_no_answer_records_nothing_and_says_so(lake):
    done = judge(lake, "", "--pairs=2")
    assert done.returncode == 1 and "recorded 0 judgments" in done.stdout
    assert not lake.exists("human_judgments")
