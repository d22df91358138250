-- Every source on an equal budget: per task, diversity at one n for all sources (the
-- comparison n: the smallest source's, pooled over labels) with 95% jackknife
-- intervals, beside each classifier's macro-F1 (95% test-set bootstrap interval) and
-- its gap to all real data; `n_train` shows the texts each classifier learned from, and
-- `equal_budget` whether every generated source of the task and classifier had as many.
WITH diversity AS (
    SELECT task, source, n,
           remote_clique, remote_clique_low, remote_clique_high,
           chamfer, chamfer_low, chamfer_high
    FROM diversity_metrics
    WHERE label = 'ALL' AND n_kind = 'comparison'
), trained AS (
    SELECT *, min(n_train) FILTER (train_source IN (SELECT value FROM vocabulary
                                                    WHERE kind = 'method'))
                  OVER (PARTITION BY task, classifier) AS fewest,
              max(n_train) FILTER (train_source IN (SELECT value FROM vocabulary
                                                    WHERE kind = 'method'))
                  OVER (PARTITION BY task, classifier) AS most
    FROM headline
)
SELECT d.task, d.source, d.n,
       round(d.remote_clique, 4) AS remote_clique,
       round(d.remote_clique_low, 4) AS rc_low, round(d.remote_clique_high, 4) AS rc_high,
       round(d.chamfer, 4) AS chamfer,
       round(d.chamfer_low, 4) AS chamfer_low, round(d.chamfer_high, 4) AS chamfer_high,
       h.classifier, h.n_train, h.fewest = h.most AS equal_budget,
       round(h.macro_f1, 3) AS macro_f1,
       round(h.macro_f1_low, 3) AS f1_low, round(h.macro_f1_high, 3) AS f1_high,
       round(h.gap_to_real_full, 3) AS gap_to_real_full
FROM diversity d
LEFT JOIN trained h ON h.task = d.task AND h.train_source = d.source
ORDER BY d.task,
         (SELECT position FROM vocabulary WHERE kind = 'method' AND value = d.source) NULLS FIRST,
         h.classifier;
