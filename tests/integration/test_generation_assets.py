"""Generation through Dagster: partitions task x method, metadata, and no secret leaks."""

import bisect
import time
from pathlib import Path

import dagster as dg

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import defs
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from synthlake.measures import versions
from tests.support import loopback

CANARY = "sk-canary-7f3a9c1e5b"
KEY_VARIABLE = "ENDPOINT_ACCESS"  # no KEY, TOKEN or SECRET in the name


def _assets():
    return [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]


def _files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_generation_asset_and_no_trace_of_the_api_key(tmp_path, monkeypatch, capfd):
    # The server echoes the request's headers in its 500 answers; the key's variable has
    # an innocuous name, so only scrubbing by value can keep it out.
    monkeypatch.setenv(KEY_VARIABLE, CANARY)
    lake_root, home = tmp_path / "lake", tmp_path / "dagster_home"
    home.mkdir()
    with loopback.running(free_port(), "--api-key", CANARY, "--faults", "500",
                           "--fault-rate", "0.3") as url, \
            dg.instance_for_test(temp_dir=str(home)) as instance:
        resources = {"lake": LakeResource(root=str(lake_root)),
                     "llm": LLMResource(base_url=url, model="dev", api_key_env=KEY_VARIABLE)}
        assert dg.materialize(_assets(), partition_key="sms_spam", instance=instance,
                              selection=["real_examples"], resources=resources).success
        result = dg.materialize(
            _assets(), instance=instance, resources=resources, partition_key="sms_spam",
            selection=["synthetic_examples/few_shot", "llm_responses/few_shot"],
            run_config={"ops": {"generate_few_shot": {"config": {"n_per_label": 6}}}},
        )
        assert result.success
        meta = result.asset_materializations_for_node("generate_few_shot")
        by_key = {m.asset_key.path[0]: m.metadata for m in meta}
        assert "| ham | 6 |" in by_key["synthetic_examples"]["accepted_per_label"].value
        assert by_key["llm_responses"]["requests_sent"].value >= 12
        assert by_key["llm_responses"]["retries"].value >= 1
    lake = Lake(lake_root)
    accepted = lake.connect().sql(
        "select label, count(*) from synthetic_examples where status='accepted' group by 1 order by 1"
    ).fetchall()
    assert accepted == [("ham", 6), ("spam", 6)]
    # The key must appear nowhere: not in any table cell, journal, run storage or log.
    con = lake.connect()
    for table in lake.tables():
        text = str(con.sql(f"select * from {table}").fetchall())
        assert CANARY not in text, table
    assert _files_containing(tmp_path, CANARY.encode()) == []
    captured = capfd.readouterr()
    assert CANARY not in captured.out + captured.err


def _generation_run(instance, lake_root, llm, methods=("few_shot",), n=4):
    resources = {"lake": LakeResource(root=str(lake_root)), "llm": llm}
    from orchestration.definitions import all_checks

    assets = [*_assets(), *all_checks]
    assert dg.materialize(assets, partition_key="sms_spam", instance=instance,
                          selection=["real_examples"], resources=resources).success
    selection = [f"{table}/{m}" for m in methods for table in ("synthetic_examples", "llm_responses")]
    return dg.materialize(
        assets, instance=instance, resources=resources, partition_key="sms_spam",
        selection=selection, raise_on_error=False,
        run_config={"ops": {f"generate_{m}": {"config": {"n_per_label": n}} for m in methods}})


def test_environment_settings_take_effect_under_dagster(tmp_path, monkeypatch, dagster_instance):
    """SYNTHLAKE_CONCURRENCY and SYNTHLAKE_TIMEOUT_S reach a run whose `llm` resource sets
    neither (the resource's own defaults used to override them)."""
    monkeypatch.setenv("SYNTHLAKE_CONCURRENCY", "2")
    monkeypatch.setenv("SYNTHLAKE_TIMEOUT_S", "1.5")
    log = tmp_path / "requests.jsonl"
    with loopback.running(free_port(), "--latency", "0.4", "--faults", "slow", "--fault-rate",
                           "0.2", "--slow-s", "20", "--request-log", str(log)) as url:
        started = time.monotonic()
        result = _generation_run(dagster_instance, tmp_path / "lake",
                                 LLMResource(base_url=url, model="dev"), n=6)
        elapsed = time.monotonic() - started
    assert result.success
    arrivals = sorted(e["t"] for e in loopback.read_request_log(log))
    # With 0.4 s per answer and 2 in flight, no 0.3 s window sees a third arrival.
    busiest = max(bisect.bisect_right(arrivals, t + 0.3) - i for i, t in enumerate(arrivals))
    assert busiest <= 2, busiest
    assert elapsed < 60, "slow answers were given up after 1.5 s, not 120"


def test_a_dead_endpoint_fails_the_step_fast_and_writes_no_version(tmp_path, dagster_instance):
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    result = _generation_run(dagster_instance, tmp_path / "lake", LLMResource(base_url=url,
                                                                              model="dev"))
    assert not result.success and time.monotonic() - started < 60
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert url in failure.event_specific_data.error.to_string()
    assert not Lake(tmp_path / "lake").exists("synthetic_examples")


def test_checks_are_filed_under_the_version_they_read(tmp_path, dagster_instance):
    """Both methods in one run: each generation's checks name its own Delta version, so
    `synthlake history` shows them for every version."""
    with loopback.running(free_port()) as url:
        result = _generation_run(dagster_instance, tmp_path / "lake",
                                 LLMResource(base_url=url, model="dev"),
                                 methods=("zero_shot", "few_shot"))
    assert result.success
    lake = Lake(tmp_path / "lake")
    history = versions.history(lake, "sms_spam")
    passed_total = [tuple(map(int, c.split()[0].split("/"))) for c in history["checks"]]  # "not run" fails
    assert len(history) == 2 and all(p == t > 0 for p, t in passed_total), history
    checked = lake.connect().sql("select method, min(delta_version), max(delta_version) "
                                 "from quality_results where method != '' group by 1").fetchall()
    written = dict(zip(history["method"], history["version"], strict=True))
    assert {m: (lo, hi) for m, lo, hi in checked} == {m: (v, v) for m, v in written.items()}
