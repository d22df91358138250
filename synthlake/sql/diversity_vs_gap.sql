-- Diversity of each source (pooled over labels, at the task's comparison n) next to the
-- macro-F1 gap of that source to all real data.
SELECT d.task, d.source, d.n, round(d.remote_clique, 4) AS remote_clique,
       round(d.chamfer, 4) AS chamfer, h.classifier,
       round(h.gap_to_real_full, 3) AS gap_to_real_full
FROM diversity_metrics d
LEFT JOIN headline h ON h.task = d.task AND h.train_source = d.source
WHERE d.label = 'ALL' AND d.n_kind = 'comparison'
ORDER BY d.task, d.source, h.classifier;
