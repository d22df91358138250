-- Instance-level subjectivity: accuracy and macro-F1 on the test examples whose
-- annotator agreement is at least gamma, per training source (means over seeds), the
-- accuracy with its 95% Wilson interval over the n test texts behind it.
SELECT task, classifier, train_source, gamma, n_examples, round(accuracy, 3) AS accuracy,
       round(wilson_low(accuracy, n_examples), 3) AS accuracy_low,
       round(wilson_high(accuracy, n_examples), 3) AS accuracy_high,
       round(macro_f1, 3) AS macro_f1
FROM (SELECT task, classifier, train_source, gamma, max(n) AS n_examples,
             avg(accuracy) AS accuracy, avg(macro_f1) AS macro_f1
      FROM instance_level_results
      GROUP BY ALL)
ORDER BY task, classifier, train_source, gamma;
