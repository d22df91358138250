-- Derived views over the lake. Every Delta table is already registered under its own
-- name by `Lake.connect()` (through deltalake, so it works offline and can time travel);
-- a view whose tables are not materialized yet is skipped.

-- The 95% Wilson interval of a share p observed over n trials (low and high end): one
-- formula for every share the SQL files report.
CREATE OR REPLACE MACRO wilson_low(p, n) AS
    (p + 1.96 ^ 2 / n / 2 - 1.96 * sqrt(p * (1 - p) / n + 1.96 ^ 2 / n / (4 * n)))
    / (1 + 1.96 ^ 2 / n);
CREATE OR REPLACE MACRO wilson_high(p, n) AS
    (p + 1.96 ^ 2 / n / 2 + 1.96 * sqrt(p * (1 - p) / n + 1.96 ^ 2 / n / (4 * n)))
    / (1 + 1.96 ^ 2 / n);

-- Rows per task, split and label of the real data.
CREATE OR REPLACE VIEW real_label_counts AS
SELECT task, split, label, count(*) AS n
FROM real_examples
GROUP BY ALL;

-- The headline table: every task x training source x classifier, mean and sample std
-- over seeds, the 95% interval of the mean over test texts x training draws
-- (`source_scores`, with what it covers), and the gap to
-- the same classifier trained on all real data (real_full minus this source: positive
-- means this source is worse) with its 95% paired-bootstrap interval (`comparisons`),
-- and a synthetic source's worth in real texts per label (`real_equivalents`).
CREATE OR REPLACE VIEW headline AS
WITH runs AS (
    SELECT task, train_source, classifier,
           count(*) AS seeds, max(n_train) AS n_train, max(n_test) AS n_test,
           avg(macro_f1) AS macro_f1, coalesce(stddev_samp(macro_f1), 0) AS macro_f1_std,
           avg(accuracy) AS accuracy, coalesce(stddev_samp(accuracy), 0) AS accuracy_std,
           any_value(class_weight) AS class_weight
    FROM evaluations
    GROUP BY ALL
)
SELECT r.*, s.low AS macro_f1_low, s.high AS macro_f1_high, s.drawn, s.covers,
       f.macro_f1 - r.macro_f1 AS gap_to_real_full,
       -c.high AS gap_low, -c.low AS gap_high, c.distinguishable AS gap_distinguishable,
       e.reading AS real_equivalent
FROM runs r
LEFT JOIN source_scores s
  ON s.task = r.task AND s.classifier = r.classifier AND s.train_source = r.train_source
LEFT JOIN runs f
  ON f.task = r.task AND f.classifier = r.classifier AND f.train_source = 'real_full'
LEFT JOIN comparisons c
  ON c.task = r.task AND c.classifier = r.classifier AND c.train_source = r.train_source
 AND c.baseline = 'real_full'
LEFT JOIN real_equivalents e
  ON e.task = r.task AND e.classifier = r.classifier AND e.train_source = r.train_source;

-- Every ranking of the tasks by objectivity, one row per ranking and task (higher score =
-- more objective): the judges' rankings with their reliability (`task_subjectivity`),
-- and the objectivity proxies from real data (`objectivity_proxies`, named "proxy: ...").
CREATE OR REPLACE VIEW rankings AS
SELECT method AS ranking, 'judges' AS kind, task, objectivity AS score, signal, consistency
FROM task_subjectivity
UNION ALL
SELECT 'proxy: ' || proxy, 'proxy', task, score, true, NULL
FROM objectivity_proxies;

-- The gap of each synthetic source to all real data (real_full minus the source's mean
-- macro-F1), per task and classifier: what `gap_correlations` correlates with rankings.
CREATE OR REPLACE VIEW synthetic_gaps AS
SELECT task, classifier, train_source, gap_to_real_full AS gap
FROM headline
WHERE train_source IN (SELECT value FROM vocabulary WHERE kind = 'method')
  AND gap_to_real_full IS NOT NULL;
