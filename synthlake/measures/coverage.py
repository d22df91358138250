"""Coverage: which corners of a task the generated data covers, and where it fails.

Per method, label and attribute value (rows that record the values they asked for:
attributed generation's), from `synthetic_examples`:

    task | method | label | dimension | value | requested | passed | accepted | carried |
    judged | fidelity | fidelity_low | fidelity_high | run_id

`passed` counts the answers that passed every check but the label filter, `carried`
those whose filter judge found the requested label, `judged` those it named a label
for (an `unknown` abstains); `fidelity` = carried / judged with its 95% Wilson interval
(`wilson_low`/`wilson_high` of `sql/views.sql`). Written as the `attribute_coverage`
table, one version per materialization.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from synthlake.catalog import TaskSpec
from synthlake.generation.fidelity import UNKNOWN
from synthlake.lake import Lake, query_file
from synthlake.vocabulary import Reason, Status

QUERY = f"""
WITH asked AS (
    SELECT task, method, label, status, reason, judged_label, unnest(attributes) AS a
    FROM synthetic_examples
    WHERE task = $task AND attributes IS NOT NULL
), counted AS (
    SELECT task, method, label, a.dimension AS dimension, a.value AS value,
           count(*) AS requested,
           count(*) FILTER (status = '{Status.ACCEPTED}'
                            OR reason = '{Reason.LABEL_MISMATCH}') AS passed,
           count(*) FILTER (status = '{Status.ACCEPTED}') AS accepted,
           count(*) FILTER ((status = '{Status.ACCEPTED}' OR reason = '{Reason.LABEL_MISMATCH}')
                            AND judged_label = label) AS carried,
           count(*) FILTER ((status = '{Status.ACCEPTED}' OR reason = '{Reason.LABEL_MISMATCH}')
                            AND judged_label IS NOT NULL
                            AND judged_label <> '{UNKNOWN}') AS judged
    FROM asked
    GROUP BY ALL
)
SELECT *, CASE WHEN judged > 0 THEN carried / judged END AS fidelity,
       CASE WHEN judged > 0 THEN wilson_low(carried / judged, judged) END AS fidelity_low,
       CASE WHEN judged > 0 THEN wilson_high(carried / judged, judged) END AS fidelity_high
FROM counted
ORDER BY method, dimension, value, label
"""


def compute(lake, task: str) -> pd.DataFrame:
    """The coverage rows of one task (empty when no row records attribute values)."""
    if not lake.exists("synthetic_examples"):
        return pd.DataFrame(columns=lake.declared["attribute_coverage"].data_schema.names)
    return lake.connect().execute(QUERY, {"task": task}).df()


def write(lake: Lake, spec: TaskSpec, run_id: str) -> tuple[pd.DataFrame, int]:
    """`compute` the task's coverage rows and write them as its partition of
    `attribute_coverage` (one commit); the rows and the Delta version."""
    frame = compute(lake, spec.name)
    data = pa.Table.from_pandas(frame, preserve_index=False)
    return frame, lake.write_partition("attribute_coverage", data, {"task": spec.name}, run_id)


def failing(lake, task: str) -> pd.DataFrame:
    """The stored cells of one task where the generator fails (`sql/attribute_coverage.sql`
    names them: nothing accepted, or fidelity wholly below the task's bar)."""
    cells = query_file(lake, "attribute_coverage.sql")
    return cells if cells.empty else cells[(cells["task"] == task) & (cells["verdict"] != "")]
