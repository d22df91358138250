-- Label fidelity: of the rows a judge named a label for, the share it finds carry the
-- label they were generated for, per task, method, label and judge: before the label
-- filter (every row that passed the other checks), after it (the rows it kept, by
-- independent judges only: the judge that filtered agrees with what it kept by
-- construction) and on held-out real texts of the label (real_heldout: the judge's
-- ceiling, what "faithful" looks like to it), with the n behind it and its 95% Wilson
-- interval. real_oracle is a diagnostic (trained on real train texts, the held-out ones
-- left out), never a filter.
-- named_a_label: the share of rows the judge named a label for at all (abstentions are
-- apart, never disagreement); under half has no signal, whatever its agreement says.
-- rejected: the share the filter rejected; on real_heldout rows its false-rejection rate
-- (leave-one-out against the bar the other genuine texts set).
WITH staged AS (
    SELECT *, 'before' AS filter FROM label_fidelity WHERE sample = 'synthetic'
    UNION ALL
    SELECT *, 'after' AS filter FROM label_fidelity
    WHERE sample = 'synthetic' AND kept AND role = 'independent'
    UNION ALL
    SELECT *, 'real_heldout' AS filter FROM label_fidelity WHERE sample = 'real_heldout'
), counts AS (
    SELECT task, method, label, judge, role, filter, count(*) AS n,
           sum((predicted_label <> 'unknown')::INT)::INT AS named,
           sum((agrees AND predicted_label <> 'unknown')::INT)::INT AS k,
           avg(p_requested) AS mean_p_requested, avg(rejected::INT) AS rejected
    FROM staged
    GROUP BY ALL
), shares AS (
    SELECT *, CASE WHEN named > 0 THEN k / named END AS p FROM counts
)
SELECT task, method, label, judge, role, filter, n, named, k AS agree, round(p, 3) AS share,
       round(wilson_low(p, named), 3) AS low, round(wilson_high(p, named), 3) AS high,
       round(named / n, 3) AS named_a_label, round(mean_p_requested, 3) AS mean_p_requested,
       round(rejected, 3) AS rejected
FROM shares
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'method' AND value = method),
         label,
         (SELECT position FROM vocabulary WHERE kind = 'judge' AND value = judge),
         (SELECT position FROM vocabulary WHERE kind = 'filter' AND value = filter);
