"""The schedule and the sensor, evaluated with Dagster's testing APIs."""

import datetime as dt

import dagster as dg

from orchestration import automation
from orchestration.definitions import defs
from tests.conftest import USER_TASK_YAML


def test_jobs_resolve_with_their_assets():
    pipeline = defs.resolve_job_def("task_pipeline")
    regenerate = defs.resolve_job_def("regenerate")
    keys = {k.to_user_string() for k in pipeline.asset_layer.executable_asset_keys}
    assert {"real_examples", "synthetic_examples/few_shot", "embeddings", "evaluations"} <= keys
    regen_keys = {k.to_user_string() for k in regenerate.asset_layer.executable_asset_keys}
    assert "real_examples" not in regen_keys and "evaluations" in regen_keys


def test_regeneration_schedule_requests_one_run_per_chosen_task(monkeypatch):
    monkeypatch.setenv("SYNTHLAKE_REGEN_TASKS", "sms_spam,ag_news")
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC))
    requests = list(automation.regeneration_schedule(context))
    assert [r.partition_key for r in requests] == ["sms_spam", "ag_news"]
    assert requests[0].run_key == "regenerate-sms_spam-202611230300"


def _tick(instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = automation.task_files(context)
    if isinstance(result, dg.SkipReason):
        return [], cursor, []
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    added = [k for r in result.dynamic_partitions_requests for k in r.partition_keys]
    return [r.partition_key for r in result.run_requests], result.cursor, added


def test_sensor_adds_new_tasks_and_reruns_changed_ones(user_task):
    with dg.instance_for_test() as instance:
        runs, cursor, added = _tick(instance, None)
        assert "support_tickets" in added and "ag_news" in added
        assert "support_tickets" in runs and len(runs) == len(added)
        assert _tick(instance, cursor)[0] == [], "nothing changed, nothing runs"
        # change one task file
        path = user_task["tasks_dir"] / "support_tickets.yaml"
        path.write_text(path.read_text().replace("support desk", "help desk"))
        runs, cursor, added = _tick(instance, cursor)
        assert runs == ["support_tickets"] and added == []
        # drop in a brand-new task
        from tests.conftest import write_user_task

        write_user_task(user_task["tasks_dir"], user_task["data_dir"], name="refunds",
                        yaml_text=USER_TASK_YAML.format(name="refunds"))
        runs, cursor, added = _tick(instance, cursor)
        assert runs == ["refunds"] and added == ["refunds"]
        assert "refunds" in instance.get_dynamic_partitions("task")
