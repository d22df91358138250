from pathlib import Path

import pytest
import yaml

from synthlake.catalog import (
    SHIPPED_TASKS_DIR,
    TaskSpecError,
    get_task,
    load_catalog,
    load_task_file,
    task_for_run,
)

PAPER_TASKS = {
    "ag_news", "imdb", "sms_spam", "financial_phrasebank", "reddit_emotion",
    "relation_classification", "tweet_irony", "tweet_emotions", "sarcasm_headlines",
    "humor_speech",
}


def test_the_ten_paper_tasks_ship_and_validate():
    catalog = load_catalog()
    assert set(catalog) >= PAPER_TASKS
    relations = catalog["relation_classification"]
    assert len(relations.labels) == 4 and relations.data.subset_reason
    assert catalog["reddit_emotion"].data.drop_labels == ["neutral"]


def _write(tmp_path: Path, **changes) -> Path:
    spec = yaml.safe_load((SHIPPED_TASKS_DIR / "sms_spam.yaml").read_text())
    spec.update(changes)
    path = tmp_path / "sms_spam.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"colour": "blue"}, "field `colour`: Extra inputs are not permitted"),
        ({"labels": None}, "field `labels`"),
        ({"labels": [{"name": "ham", "description": "a"}, {"name": "ham", "description": "b"}]},
         "duplicate label names: ['ham']"),
        ({"generation_prompt": "Write {label} about {planet}"}, "unknown slots ['planet']"),
        ({"word_limits": {"min": 50, "max": 10}}, "min (50) is larger than max (10)"),
    ],
    ids=["unknown-field", "missing-labels", "duplicate-labels", "unknown-slot", "limits"],
)
def test_bad_task_files_name_the_file_and_field(tmp_path, changes, expected):
    path = _write(tmp_path, **changes)
    with pytest.raises(TaskSpecError) as err:
        load_task_file(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_labels_key_entirely(tmp_path):
    spec = yaml.safe_load(_write(tmp_path).read_text())
    del spec["labels"]
    path = tmp_path / "sms_spam.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(TaskSpecError, match=r"sms_spam.yaml: field `labels`: Field required"):
        load_task_file(path)


def test_user_tasks_dir_adds_a_task(user_task):
    spec = get_task(user_task["name"])
    assert spec.label_names == ["billing", "other"]
    assert "ag_news" in load_catalog()


def test_prompt_version_changes_with_the_prompt(tmp_path):
    a = load_task_file(_write(tmp_path))
    b = load_task_file(_write(tmp_path, context_prompt="You are a spammer."))
    assert a.prompt_version != b.prompt_version


def test_a_run_reads_its_task_once_and_keeps_it_while_the_file_changes(user_task, tmp_path):
    name, path = user_task["name"], user_task["tasks_dir"] / f"{user_task['name']}.yaml"
    first_run = tmp_path / "lake" / "_runs" / "run-1"
    pinned = task_for_run(name, first_run)
    path.write_text(path.read_text().replace("You are a customer", "You are a lawyer"))
    assert task_for_run(name, first_run) == pinned  # a later step of the same run
    edited = task_for_run(name, tmp_path / "lake" / "_runs" / "run-2")
    assert edited.context_prompt.startswith("You are a lawyer")
    assert edited.prompt_version != pinned.prompt_version
    assert sorted(p.name for p in first_run.iterdir()) == [f"{name}.json"]  # no draft left


def test_a_task_list_setting_picks_by_name_and_names_itself_when_wrong():
    """`choose` (objectivity_proxies' and pairwise_judgments' `tasks`): empty picks every
    task, names pick those, an unknown name is an error naming the setting and the task."""
    from synthlake.catalog import choose, load_catalog

    catalog = load_catalog()
    assert list(choose(catalog, [], "x")) == sorted(catalog)
    assert list(choose(catalog, ["sms_spam", "ag_news"], "x")) == ["ag_news", "sms_spam"]
    with pytest.raises(TaskSpecError, match=r"pairwise_judgments tasks: unknown tasks \['nope'\]"):
        choose(catalog, ["sms_spam", "nope"], "pairwise_judgments tasks")
