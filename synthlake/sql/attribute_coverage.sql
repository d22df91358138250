-- Coverage of the attribute values: per task, method, label and value, the answers asked
-- for it, accepted, and the label fidelity (the filter judge finds the label) with its
-- 95% Wilson interval; `verdict` names the cells where the generator fails: nothing
-- accepted, or the fidelity interval wholly below the task's bar
-- (`fidelity.min_agreement` of its spec).
SELECT c.task, c.method, c.label, c.dimension, c.value, c.requested, c.accepted,
       c.carried, c.judged, round(c.fidelity, 3) AS fidelity,
       round(c.fidelity_low, 3) AS low, round(c.fidelity_high, 3) AS high,
       CASE WHEN c.accepted = 0 THEN 'nothing accepted'
            WHEN c.fidelity_high < (t.spec_json::JSON -> 'fidelity' ->> 'min_agreement')::DOUBLE
                THEN 'label rarely carried'
            ELSE '' END AS verdict
FROM attribute_coverage c
LEFT JOIN task_catalog t ON t.task = c.task
ORDER BY c.task, c.method, c.dimension, c.value, c.label;
