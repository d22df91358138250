-- Instance-level subjectivity: accuracy and macro-F1 on the test examples whose
-- annotator agreement is at least gamma, per training source (means over seeds).
SELECT task, classifier, train_source, gamma, max(n) AS n_examples,
       round(avg(accuracy), 3) AS accuracy, round(avg(macro_f1), 3) AS macro_f1
FROM instance_level_results
GROUP BY ALL
ORDER BY task, classifier, train_source, gamma;
