-- Every ranking of the tasks by objectivity beside its reliability: the Bradley-Terry
-- score with its 95% bootstrap interval over judgments, the rank (1 = most objective) and
-- stars (5 = most subjective), the judge's order consistency and the share of answers
-- naming the first-shown task. A ranking under the consistency threshold reads "no
-- signal" and has no rank or stars.
SELECT method AS ranking, task, n_judgments,
       printf('%.2f [%.2f, %.2f]', objectivity, objectivity_low, objectivity_high) AS objectivity,
       coalesce(CAST(subjectivity_rank AS VARCHAR), 'no signal') AS rank,
       coalesce(CAST(stars AS VARCHAR), '') AS stars,
       round(consistency, 2) AS consistency, pairs_both_orders AS pairs,
       round(position_first, 2) AS position_first
FROM task_subjectivity
ORDER BY method, subjectivity_rank NULLS LAST, objectivity DESC;
