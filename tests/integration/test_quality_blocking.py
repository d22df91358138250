"""A failed blocking check on generated data stops everything downstream in that run."""

import dagster as dg
import pytest

from assets.resources import LakeResource, LLMResource
from orchestration.definitions import all_assets, all_checks
from synthlake.lake import Lake
from synthlake.llm.embedded import free_port
from tests.support import loopback


def run_task(lake_root, url, instance):
    resources = {"lake": LakeResource(root=str(lake_root)),
                 "llm": LLMResource(base_url=url, model="dev")}
    return dg.materialize(
        [*all_assets, *all_checks], partition_key="sms_spam", resources=resources,
        selection=["real_examples", "synthetic_examples/zero_shot", "llm_responses/zero_shot",
                   "embeddings"],
        # A shortfall of any size is written here, so the checks are what stops the run.
        run_config={"ops": {"generate_zero_shot": {"config": {"n_per_label": 4,
                                                               "max_attempts_factor": 2,
                                                               "max_shortfall_share": 1.0}},
                            "embeddings": {"config": {"max_real_per_split": 30}}}},
        raise_on_error=False, instance=instance,
    )


@pytest.mark.parametrize("broken", [True, False], ids=["failing-checks", "passing-checks"])
def test_blocking_checks_gate_downstream_assets(tmp_path, broken, dagster_instance):
    faults = ["--faults", "empty", "--fault-rate", "1.0"] if broken else []
    with loopback.running(free_port(), *faults) as url:
        result = run_task(tmp_path / "lake", url, dagster_instance)
    evaluations = result.get_asset_check_evaluations()
    checks = {e.check_name: e.passed for e in evaluations}
    blocking_failures = {e.check_name for e in evaluations
                         if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR}
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()
                    for m in [m.event_specific_data.materialization]}
    if broken:
        assert not result.success
        assert checks["rejection_rate"] is False and checks["label_balance"] is False
        assert "synthetic_examples/zero_shot" in materialized
        assert "embeddings" not in materialized
        assert not Lake(tmp_path / "lake").exists("embeddings")
    else:
        # The loopback's answers to the LLM judge name no label: a judge without signal,
        # which the label_fidelity check says with a warning that blocks nothing.
        assert result.success and blocking_failures == set(), checks
        assert {name for name, passed in checks.items() if not passed} == {"label_fidelity"}
        assert "embeddings" in materialized
    history = Lake(tmp_path / "lake").connect().sql(
        "select suite, bool_and(passed) from quality_results where method='zero_shot' "
        "group by 1 order by 1").fetchall()
    assert dict(history)["rejection_rate"] is (not broken)
