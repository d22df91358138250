-- Real against synthetic diversity per task, at one n per task (the comparison n).
SELECT task,
       max(n) AS n,
       round(max(remote_clique) FILTER (source = 'real'), 4) AS real_remote_clique,
       round(max(remote_clique) FILTER (source = 'zero_shot'), 4) AS zero_shot_remote_clique,
       round(max(remote_clique) FILTER (source = 'few_shot'), 4) AS few_shot_remote_clique,
       round(max(chamfer) FILTER (source = 'real'), 4) AS real_chamfer,
       round(max(chamfer) FILTER (source = 'zero_shot'), 4) AS zero_shot_chamfer,
       round(max(chamfer) FILTER (source = 'few_shot'), 4) AS few_shot_chamfer
FROM diversity_metrics
WHERE label = 'ALL' AND n_kind = 'comparison'
GROUP BY task
ORDER BY task;
