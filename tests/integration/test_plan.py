"""The cost forecast against the loopback endpoint: a pilot where 30% of answers come
back empty (rejected) predicts the full run's requests within 10% and its tokens within
20%; a few-shot full run pays for the pilot's requests once; the CLI prints the cost."""

import pytest

from synthlake.catalog import get_task
from synthlake.cli import main as cli
from synthlake.generation import plan
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.lake import Lake
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from tests.support import loopback

PRICES = {"dev": [0.15, 0.60]}


@pytest.mark.parametrize("method", ["few_shot", "zero_shot"])
def test_a_pilot_predicts_the_full_run(lake: Lake, tmp_path, method):
    spec = get_task("sms_spam").with_judge("none")  # the loopback's texts carry no label
    write_real_examples(lake, spec, "real")
    log = tmp_path / "requests.jsonl"
    config = plan.PlanConfig(method=method, generation=GenerationConfig(n_per_label=80),
                             pilot_per_label=25)
    with loopback.running(free_port(), "--faults", "empty", "--fault-rate", "0.3",
                           "--request-log", str(log)) as url:
        endpoint = EndpointConfig(base_url=url, model="dev", backoff_base_s=0.05,
                                  prices_per_million=PRICES)
        forecast = plan.forecast(lake, spec, config, endpoint=endpoint).set_index("quantity")
        piloted = len(loopback.read_request_log(log))
        generate(lake, spec, "full", GenerationConfig(n_per_label=80), method=method,
                 endpoint=endpoint)
        sent = len(loopback.read_request_log(log))

    full = lake.read("llm_responses", where={"method": method}).to_pandas()
    requests = forecast.loc["requests"]
    assert abs(requests["forecast"] - len(full)) <= 0.10 * len(full)
    assert requests["low"] <= len(full) <= requests["high"]
    tokens = (full["prompt_tokens"] + full["completion_tokens"]).sum()
    assert abs(forecast.loc["tokens", "forecast"] - tokens) <= 0.20 * tokens
    assert 0.6 <= forecast.loc["acceptance", "forecast"] <= 0.8  # 30% empty answers
    expected_cost = (full["prompt_tokens"].sum() * 0.15 + full["completion_tokens"].sum() * 0.6) / 1e6
    assert forecast.loc["cost_usd", "forecast"] == pytest.approx(expected_cost, rel=0.2)
    # Few-shot: the pilot's requests are the full run's first slots, paid once. (A
    # zero-shot pilot's first wave is the full run's too; its replacement streams are not.)
    if method == "few_shot":
        assert sent == len(full) and piloted < sent


def test_the_cli_prints_the_forecast_and_its_cost(tmp_path, capsys, monkeypatch):
    root = tmp_path / "lake"
    write_real_examples(Lake(root), get_task("sms_spam"), "real")
    with loopback.running(free_port()) as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("SYNTHLAKE_MODEL", "dev")
        code = cli(["--lake", str(root), "plan", "--task", "sms_spam", "--method", "few_shot",
                    "--n-per-label", "1000", "--pilot-per-label", "4", "--batch",
                    "--price-in", "0.15", "--price-out", "0.6"])
    out = capsys.readouterr().out
    assert code == 0
    assert "requests" in out and "cost_usd" in out and "acceptance" in out
    assert "batch" in out


def test_the_forecast_caps_requests_at_the_runs_own_attempts_factor(lake: Lake):
    """Where almost every answer fails, the worst case is the run's request cap: the
    planned run's `max_attempts_factor` x its quota, whatever the factor."""
    spec = get_task("sms_spam").with_judge("none")
    write_real_examples(lake, spec, "real")
    with loopback.running(free_port(), "--faults", "empty", "--fault-rate", "0.97") as url:
        endpoint = EndpointConfig(base_url=url, model="dev", backoff_base_s=0.01)
        for factor in (2.0, 6.0):
            run = GenerationConfig(n_per_label=500, max_attempts_factor=factor)
            config = plan.PlanConfig(method="few_shot", generation=run, pilot_per_label=5)
            forecast = plan.forecast(lake, spec, config, endpoint=endpoint).set_index("quantity")
            assert forecast.loc["requests", "high"] == factor * 500 * len(spec.labels)
