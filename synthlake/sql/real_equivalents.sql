-- What each synthetic source is worth in real labelled texts: the n per label at which
-- the real learning curve of the same classifier reaches the source's macro-F1 (monotone
-- curve, interpolated in log2 n), with its 95% interval over test texts x training draws
-- (`covers`); a score off
-- the curve reads "below the smallest point" or "above the largest", never extrapolated.
SELECT task, train_source, classifier, seeds, n_test, round(macro_f1, 3) AS macro_f1,
       reading AS real_equivalent, covers
FROM real_equivalents
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = train_source),
         classifier;
