-- Every available ranking of the tasks side by side: one row per task, one column per
-- ranking (people, the LLM judge, each objectivity proxy), the score (higher = more
-- objective). A judge's ranking without signal shows no score. Kendall's tau between
-- each pair of rankings is in the report (`subjectivity.ranking_agreement`).
PIVOT (SELECT ranking, task, CASE WHEN signal THEN round(score, 3) END AS score FROM rankings)
ON ranking USING first(score)
GROUP BY task
ORDER BY task;
