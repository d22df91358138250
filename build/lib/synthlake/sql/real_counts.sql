-- Real data per task and split: rows and labels.
SELECT task, split, count(*) AS n, count(DISTINCT label) AS labels
FROM real_examples
GROUP BY ALL
ORDER BY ALL;
