"""The schedule and the sensor, evaluated with Dagster's testing APIs."""

import datetime as dt
import json

import dagster as dg
import pytest

from orchestration import automation
from orchestration.definitions import defs
from synthlake import catalog
from synthlake.vocabulary import Method
from tests.support.data import USER_TASK_YAML


def test_jobs_resolve_with_their_assets():
    pipeline = defs.resolve_job_def("task_pipeline")
    regenerate = defs.resolve_job_def("regenerate")
    keys = {k.to_user_string() for k in pipeline.asset_layer.executable_asset_keys}
    assert {"real_examples", "synthetic_examples/few_shot", "embeddings", "evaluations"} <= keys
    regen_keys = {k.to_user_string() for k in regenerate.asset_layer.executable_asset_keys}
    assert "real_examples" not in regen_keys and "evaluations" in regen_keys


DEMO_METHOD_SETS = [[Method.ZERO_SHOT, Method.FEW_SHOT], list(Method)]


@pytest.mark.parametrize("methods", DEMO_METHOD_SETS, ids=["default", "every_method"])
def test_the_demo_selection_resolves_against_the_definitions(monkeypatch, methods):
    """Every asset each demo task's run selects exists and is executed, no multi-asset is
    cut in two, and the methods a run generates are exactly the configured ones (error-
    driven rounds on the first task only)."""
    from orchestration import demo
    from orchestration.definitions import all_assets, all_checks

    monkeypatch.setattr(demo, "DEMO_METHODS", methods)
    for task in demo.DEMO_TASKS:
        selection = demo.task_selection(task)
        job = dg.Definitions(assets=[*all_assets], asset_checks=[*all_checks],
                             resources=defs.resources, jobs=[
            dg.define_asset_job("demo_task", selection=selection)]).resolve_job_def("demo_task")
        keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
        assert set(selection) == keys
        generated = {k.split("/")[1] for k in keys if k.startswith("synthetic_examples/")}
        expected = {m for m in methods if m != Method.ERROR_DRIVEN or task == demo.DEMO_TASKS[0]}
        assert generated == expected
        assert ("attributes" in keys) == (Method.ATTRIBUTED in methods)


def test_the_demo_methods_come_from_the_environment(monkeypatch):
    import importlib

    from orchestration import demo

    monkeypatch.setenv("SYNTHLAKE_DEMO_METHODS", "few_shot,attributed")
    try:
        chosen = importlib.reload(demo)
        assert chosen.DEMO_METHODS == [Method.FEW_SHOT, Method.ATTRIBUTED]
        selection = chosen.task_selection(chosen.DEMO_TASKS[0])
        assert {"attributes", "synthetic_examples/attributed", "attribute_coverage"} <= set(selection)
        assert "synthetic_examples/zero_shot" not in selection
    finally:
        monkeypatch.delenv("SYNTHLAKE_DEMO_METHODS")
        importlib.reload(demo)


@pytest.mark.parametrize("methods", DEMO_METHOD_SETS, ids=["default", "every_method"])
def test_every_demo_run_has_a_valid_config_for_its_selection(monkeypatch, methods):
    """Each run the demo launches (every task's, and the rerun after a gate holds) gets
    only config its selection accepts: Dagster refuses config for an op a run does not
    execute, at launch, after minutes of work."""
    from dagster._core.system_config.objects import ResolvedRunConfig

    from orchestration import demo
    from orchestration.definitions import all_assets, all_checks

    monkeypatch.setattr(demo, "DEMO_METHODS", methods)
    runs = [demo.task_selection(task) for task in demo.DEMO_TASKS]
    runs += [demo.after_generation(task) for task in demo.DEMO_TASKS]
    configs = [demo.DEMO_CONFIG] * len(runs) + [demo.SUBJECTIVITY_CONFIG]
    for selection, config in zip([*runs, demo.SUBJECTIVITY], configs, strict=True):
        job = dg.Definitions(assets=[*all_assets], asset_checks=[*all_checks],
                             resources=defs.resources, jobs=[
            dg.define_asset_job("demo_task", selection=selection)]).resolve_job_def("demo_task")
        ResolvedRunConfig.build(job, {"ops": demo.ops_config(selection, config)})
    first = demo.ops_config(demo.task_selection(demo.DEMO_TASKS[0]), demo.DEMO_CONFIG)
    assert ("generate_error_driven" in first) == (Method.ERROR_DRIVEN in methods)


def test_regeneration_schedule_requests_one_run_per_chosen_task(monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_REGEN_TASKS", "sms_spam,ag_news")
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC))
    requests = list(automation.regeneration_schedule(context))
    assert [r.partition_key for r in requests] == ["sms_spam", "ag_news"]
    assert requests[0].run_key == "regenerate-sms_spam-202611230300"


def _tick(cursor):
    result = automation.task_files(dg.build_sensor_context(cursor=cursor))
    skip = result.skip_reason.skip_message if result.skip_reason else None
    return [r.partition_key for r in result.run_requests], result.cursor, skip


def test_sensor_starts_no_runs_on_first_sight_and_reruns_changed_tasks(tmp_path, monkeypatch):
    runs, cursor, _ = _tick(None)
    assert runs == [], "a fresh instance sees every task for the first time: no run storm"
    assert {"sms_spam", "ag_news"} <= set(json.loads(cursor))
    assert _tick(cursor)[0] == [], "nothing changed, nothing runs"
    # A user's file of the same name overrides the shipped sms_spam task: a changed spec.
    shipped = catalog.SHIPPED_TASKS_DIR / "sms_spam.yaml"
    (tmp_path / "sms_spam.yaml").write_text(shipped.read_text().replace(
        "word_limits: {min: 3, max: 40}", "word_limits: {min: 3, max: 41}"))
    monkeypatch.setenv("SYNTHLAKE_TASKS_DIR", str(tmp_path))
    runs, cursor, _ = _tick(cursor)
    assert runs == ["sms_spam"]
    assert _tick(cursor)[0] == [], "one run per change"


def test_sensor_names_a_new_task_file_until_the_code_location_reloads(user_task):
    from tests.support.data import write_user_task

    _, cursor, _ = _tick(None)
    write_user_task(user_task["tasks_dir"], user_task["data_dir"], name="refunds",
                    yaml_text=USER_TASK_YAML.format(name="refunds"))
    runs, cursor, skip = _tick(cursor)
    assert runs == [] and "refunds" in skip and "reload" in skip.lower()
    assert "refunds" not in json.loads(cursor)
