-- Real vs synthetic: macro-F1 and accuracy per task, source and classifier: mean ± std
-- over seeds, [the 95% interval of the mean macro-F1 over test texts x training draws;
-- `covers` says what was resampled], on n_test real test texts; training_texts says
-- whether each seed drew its own training texts or all trained on one fixed set; the gap
-- to all real data with its 95% interval, or "not distinguishable" where that interval
-- contains 0; a synthetic source's real-data
-- equivalent (real texts per label worth as much, with its interval).
SELECT task, train_source, classifier, seeds,
       CASE WHEN drawn THEN 'per seed' ELSE 'fixed' END AS training_texts, n_train, n_test,
       printf('%.3f ± %.3f [%.3f, %.3f]', macro_f1, macro_f1_std, macro_f1_low,
              macro_f1_high) AS macro_f1,
       printf('%.3f ± %.3f', accuracy, accuracy_std) AS accuracy,
       CASE WHEN gap_low IS NULL THEN printf('%.3f', gap_to_real_full)
            ELSE printf('%.3f (%.3f to %.3f)%s', gap_to_real_full, gap_low, gap_high,
                        CASE WHEN gap_distinguishable THEN '' ELSE ', not distinguishable' END)
       END AS gap_to_real_full,
       coalesce(real_equivalent, '') AS real_equivalent
FROM headline
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = train_source),
         classifier;
