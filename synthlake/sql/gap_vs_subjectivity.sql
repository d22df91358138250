-- The gap between real and synthetic training data (macro-F1 of all real data minus
-- that of each synthetic source) per task, next to the task's subjectivity rank
-- (1 = most objective), with the Spearman correlation across tasks (per classifier).
-- `ranking_method` says whether people or an LLM judged subjectivity.
WITH gaps AS (
    SELECT task, classifier,
           max(macro_f1) FILTER (train_source = 'real_full') AS real_f1,
           max(macro_f1) FILTER (train_source = 'real_full')
             - max(macro_f1) FILTER (train_source = 'zero_shot') AS gap_zero_shot,
           max(macro_f1) FILTER (train_source = 'real_full')
             - max(macro_f1) FILTER (train_source = 'few_shot') AS gap_few_shot
    FROM headline
    GROUP BY ALL
), joined AS (
    SELECT g.*, s.subjectivity_rank, s.stars, s.method AS ranking_method
    FROM gaps g JOIN task_subjectivity s USING (task)
)
SELECT task, classifier, ranking_method, subjectivity_rank, stars,
       round(real_f1, 3) AS real_f1, round(gap_zero_shot, 3) AS gap_zero_shot,
       round(gap_few_shot, 3) AS gap_few_shot,
       round(corr(rank_gap_zero, rank_subj) OVER (PARTITION BY classifier), 3) AS spearman_zero_shot,
       round(corr(rank_gap_few, rank_subj) OVER (PARTITION BY classifier), 3) AS spearman_few_shot,
       count(*) OVER (PARTITION BY classifier) AS tasks
FROM (
    SELECT *,
           rank() OVER (PARTITION BY classifier ORDER BY gap_zero_shot) AS rank_gap_zero,
           rank() OVER (PARTITION BY classifier ORDER BY gap_few_shot) AS rank_gap_few,
           rank() OVER (PARTITION BY classifier ORDER BY subjectivity_rank) AS rank_subj
    FROM joined
)
ORDER BY classifier, subjectivity_rank;
