-- The objectivity proxies of each task from real data alone (higher = more objective),
-- each with its 95% bootstrap interval and the n behind it: annotator agreement (mean
-- a_i, tasks with annotations only) and surface predictability (bag-of-words macro-F1
-- over the reference classifier's, on the same real texts). Proxies, not judgments.
SELECT proxy, task, printf('%.3f [%.3f, %.3f]', score, low, high) AS score, n, detail
FROM objectivity_proxies
ORDER BY proxy, objectivity_proxies.score DESC;
