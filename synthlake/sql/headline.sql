-- Real vs synthetic: macro-F1 and accuracy (mean ± std over seeds) per task, source and
-- classifier, with the gap to all real data.
SELECT task, train_source, classifier, seeds, n_train,
       printf('%.3f ± %.3f', macro_f1, macro_f1_std) AS macro_f1,
       printf('%.3f ± %.3f', accuracy, accuracy_std) AS accuracy,
       round(gap_to_real_full, 3) AS gap_to_real_full
FROM headline
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = train_source),
         classifier;
