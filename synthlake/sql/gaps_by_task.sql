-- The gap of each synthetic source per task (real_full minus its macro-F1) beside each
-- ranking that carries signal: its objectivity score and rank (1 = most objective).
SELECT r.ranking, g.task, g.classifier, g.train_source, round(g.gap, 3) AS gap,
       round(r.score, 3) AS objectivity,
       rank() OVER (PARTITION BY r.ranking, g.classifier, g.train_source
                    ORDER BY r.score DESC) AS objectivity_rank
FROM synthetic_gaps g
JOIN rankings r USING (task)
WHERE r.signal
ORDER BY r.ranking, g.classifier, g.train_source, objectivity_rank;
