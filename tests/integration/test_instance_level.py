"""Instance-level results on a task with real annotator agreement."""

import pandas as pd
import pyarrow as pa
import pytest

from synthlake.catalog import get_task
from synthlake.lake import Lake
from synthlake.realdata import write_real_annotations, write_real_examples
from synthlake.subjectivity import ranking as subjectivity


def test_instance_level_for_financial_phrasebank(tmp_path):

    lake = Lake(tmp_path / "lake")
    spec = get_task("financial_phrasebank")
    write_real_examples(lake, spec, "r")
    write_real_annotations(lake, spec, "r")
    test = lake.read("real_examples", where={"task": spec.name, "split": "test"}).to_pandas()
    predictions = pd.DataFrame({"task": spec.name, "train_source": "real", "classifier": "c",
                                "seed": 0, "example_id": test.example_id, "gold": test.label,
                                "predicted": "neutral"})
    lake.write_partition("predictions", pa.Table.from_pandas(predictions), {"task": spec.name}, "r")
    agreement, results = subjectivity.write_instance_level(lake, spec, "r")
    assert len(agreement) == 4838 and set(agreement.agreement) == {0.5, 0.66, 0.75, 1.0}
    by_gamma = results.set_index("gamma")
    assert by_gamma.loc[0.5, "n"] == 967 and by_gamma.loc[1.0, "n"] == 452
    neutral_share = (test.label == "neutral").mean()
    assert by_gamma.loc[0.5, "accuracy"] == pytest.approx(neutral_share)
