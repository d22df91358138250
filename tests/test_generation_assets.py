"""Generation through Dagster: partitions task x method, metadata, and no secret leaks."""

from pathlib import Path

import dagster as dg

from orchestration.definitions import defs
from orchestration.resources import LakeResource, LLMResource
from synthlake import devserver
from synthlake.lake import Lake
from synthlake.local_llm import free_port

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
    with devserver.running(free_port(), "--api-key", CANARY, "--faults", "500",
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
