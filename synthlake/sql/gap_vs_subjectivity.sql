-- Does the gap between real and synthetic training data grow with subjectivity? Per
-- ranking (people, the LLM judge, each objectivity proxy), classifier and synthetic
-- source: Spearman's rho between the gap (real_full minus the source's macro-F1) and
-- subjectivity, its 95% interval from resampling tasks, and the number of tasks. A
-- ranking without signal, or fewer than 4 tasks, gets no rho and says why.
SELECT ranking, classifier, train_source, n_tasks, round(spearman, 3) AS spearman,
       round(low, 3) AS low, round(high, 3) AS high, reading
FROM gap_correlations
ORDER BY ranking, classifier,
         (SELECT position FROM vocabulary WHERE kind = 'train_source' AND value = train_source);
