-- Real against synthetic diversity per task, at one n per task (the comparison n): one
-- column per source and measure (real_remote_clique, zero_shot_chamfer, ...).
PIVOT (SELECT task, n, source, remote_clique, chamfer
       FROM diversity_metrics
       WHERE label = 'ALL' AND n_kind = 'comparison')
ON source
USING round(max(remote_clique), 4) AS remote_clique, round(max(chamfer), 4) AS chamfer
GROUP BY task, n
ORDER BY task;
