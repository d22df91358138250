-- Each training source against its baselines (size-matched real data, all real data, and
-- for a filtered synthetic source its unfiltered counterpart), trained with the same
-- classifier and scored on the same real test texts: the macro-F1 difference (source
-- minus baseline, each the mean over its seeds), its 95% paired-bootstrap interval and
-- p-value, and the n behind it. An interval that contains 0 reads "not distinguishable".
-- The interval resamples the test texts and each side's training draws (`covers` says
-- what, per side; a fixed synthetic set carries one real draw's spread).
SELECT task, train_source, classifier, baseline, seeds, baseline_seeds, n_test,
       round(difference, 3) AS difference, round(low, 3) AS low, round(high, 3) AS high,
       round(p_value, 4) AS p_value,
       CASE WHEN distinguishable THEN CASE WHEN difference > 0 THEN 'better' ELSE 'worse' END
            ELSE 'not distinguishable' END AS verdict, covers
FROM comparisons
ORDER BY task,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = train_source),
         classifier,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = baseline);
