-- Learning curves: macro-F1 on the real test split against training texts per label, the
-- mean over seeds with its 95% interval (test texts x training draws) and the n behind it. The real
-- curve doubles n per label (4, 8, 16, ...; nested samples drawn per seed) until it
-- brackets the best synthetic source, or to all real texts; each generated
-- source's own curve trains on a share of its rows (25%, 50%, 100%): still rising at 100%
-- means more synthetic data would still help.
SELECT task, classifier, curve, n_per_label, share, n_train, seeds, n_test,
       round(macro_f1, 3) AS macro_f1, round(macro_f1_std, 3) AS std,
       round(low, 3) AS low, round(high, 3) AS high
FROM learning_curves
ORDER BY task, classifier, curve <> 'real', curve, n_per_label, share;
