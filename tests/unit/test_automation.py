"""The schedule and the sensor, evaluated with Dagster's testing APIs."""

import datetime as dt
import json

import dagster as dg

from orchestration import automation
from orchestration.definitions import defs
from synthlake import catalog
from tests.support.data import USER_TASK_YAML


def test_jobs_resolve_with_their_assets():
    pipeline = defs.resolve_job_def("task_pipeline")
    regenerate = defs.resolve_job_def("regenerate")
    keys = {k.to_user_string() for k in pipeline.asset_layer.executable_asset_keys}
    assert {"real_examples", "synthetic_examples/few_shot", "embeddings", "evaluations"} <= keys
    regen_keys = {k.to_user_string() for k in regenerate.asset_layer.executable_asset_keys}
    assert "real_examples" not in regen_keys and "evaluations" in regen_keys


def test_the_demo_selection_resolves_against_the_definitions():
    """Every asset the demo's task run selects exists, and no multi-asset is cut in two."""
    from orchestration import demo
    from orchestration.definitions import all_assets, all_checks

    job = dg.Definitions(assets=[*all_assets], asset_checks=[*all_checks],
                         resources=defs.resources, jobs=[
        dg.define_asset_job("demo_task", selection=demo.TASK_PIPELINE)]).resolve_job_def("demo_task")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert set(demo.TASK_PIPELINE) == keys


def test_every_demo_run_has_a_valid_config_for_its_selection():
    """Each run the demo launches (every task's, and the rerun after a gate holds) gets
    only config its selection accepts: Dagster refuses config for an op a run does not
    execute, at launch, after minutes of work."""
    from dagster._core.system_config.objects import ResolvedRunConfig

    from orchestration import demo
    from orchestration.definitions import all_assets, all_checks

    config = {**demo.DEMO_CONFIG, **demo.ERROR_DRIVEN_CONFIG}
    runs = [demo.task_selection(task) for task in demo.DEMO_TASKS] + [demo.AFTER_GENERATION]
    for selection in runs:
        job = dg.Definitions(assets=[*all_assets], asset_checks=[*all_checks],
                             resources=defs.resources, jobs=[
            dg.define_asset_job("demo_task", selection=selection)]).resolve_job_def("demo_task")
        ResolvedRunConfig.build(job, {"ops": demo.ops_config(selection, config)})
    assert "generate_error_driven" in demo.ops_config(demo.task_selection(demo.DEMO_TASKS[0]),
                                                      config)


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
