-- Error-driven rounds: per task and round, the texts the classifier learned from, its
-- macro-F1 on the real test split with the 95% bootstrap interval, the change from the
-- round before (paired on the same test texts, 95% interval: "not distinguishable" where
-- it contains 0), and the seed-pool texts it got wrong (the next round's demonstrations).
SELECT task, round, start_method, n_train, validation_errors, n_validation,
       round(macro_f1, 3) AS macro_f1, round(macro_f1_low, 3) AS low,
       round(macro_f1_high, 3) AS high, round(change, 3) AS change,
       round(change_low, 3) AS change_low, round(change_high, 3) AS change_high,
       CASE WHEN change IS NULL THEN NULL
            WHEN change_low > 0 OR change_high < 0 THEN 'distinguishable'
            ELSE 'not distinguishable' END AS verdict
FROM error_rounds
ORDER BY task, round;
