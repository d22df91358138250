-- Label fidelity: the share of synthetic rows a judge finds carry the label they were
-- generated for, per task, method, label and judge, before the label filter (every row
-- that passed the other checks) and after it (the rows it kept), with the n behind it
-- and its 95% Wilson interval. real_oracle is a diagnostic (trained on all real train
-- texts), never a filter.
-- named_a_label: the share of rows the judge put in some label at all; an LLM judge that
-- mostly answers outside the labels has no signal, whatever its agreement says.
WITH staged AS (
    SELECT *, 'before' AS filter FROM label_fidelity
    UNION ALL
    SELECT *, 'after' AS filter FROM label_fidelity WHERE kept
), counts AS (
    SELECT task, method, label, judge, filter, count(*) AS n, sum(agrees::INT)::INT AS k,
           avg(p_requested) AS mean_p_requested,
           avg((predicted_label <> 'unknown')::INT) AS named_a_label
    FROM staged
    GROUP BY ALL
), shares AS (
    SELECT *, k / n AS p FROM counts
)
SELECT task, method, label, judge, filter, n, k AS agree, round(p, 3) AS share,
       round(wilson_low(p, n), 3) AS low, round(wilson_high(p, n), 3) AS high,
       round(mean_p_requested, 3) AS mean_p_requested, round(named_a_label, 3) AS named_a_label
FROM shares
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'method' AND value = method),
         label,
         (SELECT position FROM vocabulary WHERE kind = 'judge' AND value = judge),
         (SELECT position FROM vocabulary WHERE kind = 'filter' AND value = filter);
