"""A cost forecast before spending: a small pilot, then the full run extrapolated.

The pilot is the full run's first requests: the same method, seed and prompts with
`pilot_per_label` texts per label instead of `generation.n_per_label`, journaled, so the full run
finds its answers there and pays for them once. From the pilot:

    acceptance      accepted / answers (every check and the label filter), with its
                    95% Wilson interval; the full run needs n_per_label x labels / it
                    requests (at most `max_attempts_factor` x the quota)
    label fidelity  the share of judged rows the label filter found their label in
    tokens          prompt and completion tokens per request (means over the pilot), and
                    the label filter's LLM requests per accepted text
    cost            tokens at the endpoint's `prices_per_million` for the model; batch
                    mode at its `batch_price_share` (OpenAI's and Anthropic's: half)
    wall time       requests x mean latency / the requests that can be in flight (zero-shot
                    streams are sequential: labels x streams_per_label at most); batch
                    mode: the provider's completion window (up to 24 h)

`forecast()` returns one row per quantity: quantity | forecast | low | high | unit |
basis. Low and high carry the acceptance interval through; the other quantities are
pilot means.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from synthlake.catalog import TaskSpec
from synthlake.generation.generate import GenerationConfig, run_generation
from synthlake.llm import EndpointConfig
from synthlake.vocabulary import PROMPTED, Method, Reason


class PlanConfig(BaseModel):
    """What to forecast (the full run's own settings), and how large a pilot to run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = Field(str(Method.FEW_SHOT), description="the method to plan: "
                        + ", ".join(PROMPTED))
    generation: GenerationConfig = Field(
        default_factory=lambda: GenerationConfig(n_per_label=3000), description="the full "
        "run's generation settings (n_per_label: accepted texts per label, the paper's 3,000; "
        "its request cap, streams, seed and temperature are the forecast's)")
    pilot_per_label: int = Field(10, ge=1, description="accepted texts per label the pilot "
                                 "generates (paid once: the full run reuses them)")
    batch: bool = Field(False, description="forecast batch mode (at the endpoint's "
                        "batch_price_share, within its batch window)")


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The 95% Wilson interval of a share (scipy's, as `fidelity.summary` uses)."""
    from scipy.stats import binomtest

    if n == 0:
        return 0.0, 1.0
    interval = binomtest(successes, n).proportion_ci(method="wilson")
    return float(interval.low), float(interval.high)


def pilot(lake, spec: TaskSpec, config: PlanConfig, endpoint: EndpointConfig, wire=None):
    """The full run's first requests: its settings, `pilot_per_label` texts per label."""
    generation = config.generation.model_copy(update={"n_per_label": config.pilot_per_label})
    return run_generation(lake, spec, config.method, generation, endpoint, wire=wire)


def forecast(lake, spec: TaskSpec, config: PlanConfig, *,
             endpoint: EndpointConfig | None = None, wire=None) -> pd.DataFrame:
    """Run (or replay) the pilot and extrapolate the full run; rows as the module says.
    Writes no table (the pilot's answers go to the journal only), so it takes no run_id."""
    endpoint = endpoint or EndpointConfig.from_env()
    # The pilot goes online (a batch would keep the forecast waiting); the cost is priced
    # as the planned run will be.
    found = pilot(lake, spec, config, endpoint.model_copy(update={"batch": False}), wire)
    priced = endpoint.model_copy(update={"batch": config.batch})
    answers = found.candidates
    accepted = sum(c.reason is None for c in answers)
    judged = [c for c in answers if c.verdict is not None]
    carried = sum(c.reason != Reason.LABEL_MISMATCH for c in judged)
    quota = config.generation.n_per_label * len(spec.labels)
    cap = config.generation.max_attempts_factor * quota
    share = accepted / max(len(answers), 1)
    low, high = wilson(accepted, len(answers))

    def requests(p: float) -> float:
        return min(cap, quota / p) if p > 0 else cap

    prompt = sum(c.response.prompt_tokens for c in answers) / max(len(answers), 1)
    completion = sum(c.response.completion_tokens for c in answers) / max(len(answers), 1)
    latency = sum(c.response.latency_s for c in answers) / max(len(answers), 1)
    judge_usage = found.report.judge_usage
    judge_requests = judge_usage["requests_sent"] + judge_usage["cached"]
    judge_per_accepted = judge_requests / max(accepted, 1)
    judge_tokens = ((judge_usage["prompt_tokens"] + judge_usage["completion_tokens"])
                    / max(judge_usage["requests_sent"], 1))
    in_flight = endpoint.max_concurrency
    if config.method == Method.ZERO_SHOT:
        in_flight = min(in_flight, len(spec.labels) * config.generation.streams_per_label)
    model = found.report.model

    def figures(p: float) -> dict:
        n = requests(p)
        tokens = n * (prompt + completion) + quota * judge_per_accepted * judge_tokens
        cost = (priced.cost(model, n * prompt, n * completion)
                + priced.cost(model, quota * judge_per_accepted * judge_tokens, 0))
        return {"requests": n, "tokens": tokens, "prompt_tokens": n * prompt,
                "completion_tokens": n * completion, "cost_usd": cost,
                "wall_time_s": n * latency / in_flight,
                "label_filter_requests": quota * judge_per_accepted}

    mid, worst, best = figures(share), figures(low), figures(high)
    basis = f"pilot: {accepted} accepted of {len(answers)} answers"
    rows = [{"quantity": name, "forecast": mid[name], "low": best[name], "high": worst[name],
             "unit": unit, "basis": basis}
            for name, unit in (("requests", "requests"), ("prompt_tokens", "tokens"),
                               ("completion_tokens", "tokens"), ("tokens", "tokens"),
                               ("label_filter_requests", "requests"), ("cost_usd", "USD"),
                               ("wall_time_s", "s"))]
    if config.batch:
        rows[-1].update(forecast=None, low=None, high=None, unit="s",
                        basis="batch: within the provider's completion window (up to 24 h)")
    fidelity = carried / len(judged) if judged else None
    rows += [{"quantity": "acceptance", "forecast": share, "low": low, "high": high,
              "unit": "share", "basis": basis},
             {"quantity": "label_fidelity", "forecast": fidelity,
              "low": wilson(carried, len(judged))[0] if judged else None,
              "high": wilson(carried, len(judged))[1] if judged else None, "unit": "share",
              "basis": f"{len(judged)} rows judged by {found.report.judge or 'no judge'}"}]
    frame = pd.DataFrame(rows)
    frame.attrs["pilot_usage"] = found.report.usage
    return frame
