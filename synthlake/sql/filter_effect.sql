-- What the label filter changes: macro-F1 (mean over seeds) of classifiers trained on the
-- rows the filter kept and on as many rows per label drawn before it, per task, method
-- and classifier, with the seeds and training texts behind each, and the difference
-- with its 95% paired-bootstrap interval on the same test texts (`comparisons`): "not
-- distinguishable" where it contains 0. Methods whose filter rejected nothing have no
-- unfiltered source (it would be the same rows).
SELECT f.task, f.train_source AS method, f.classifier,
       f.seeds, f.n_train, f.n_test,
       round(f.macro_f1, 3) AS filtered_f1, round(f.macro_f1_std, 3) AS filtered_std,
       round(u.macro_f1, 3) AS unfiltered_f1, round(u.macro_f1_std, 3) AS unfiltered_std,
       round(f.macro_f1 - u.macro_f1, 3) AS filtered_minus_unfiltered,
       round(c.low, 3) AS low, round(c.high, 3) AS high,
       CASE WHEN c.distinguishable IS NULL THEN NULL
            WHEN c.distinguishable THEN 'distinguishable' ELSE 'not distinguishable' END
           AS verdict
FROM headline f
JOIN headline u
  ON u.task = f.task AND u.classifier = f.classifier
 AND u.train_source = f.train_source || '_unfiltered'
 AND f.train_source IN (SELECT value FROM vocabulary WHERE kind = 'method')
LEFT JOIN comparisons c
  ON c.task = f.task AND c.classifier = f.classifier AND c.train_source = f.train_source
 AND c.baseline = u.train_source
ORDER BY f.task,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = f.train_source),
         f.classifier;
