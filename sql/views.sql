-- Derived views over the lake. Every Delta table is already registered under its own
-- name by `Lake.connect()` (through deltalake, so it works offline and can time travel);
-- a view whose tables are not materialized yet is skipped.

-- Rows per task, split and label of the real data.
CREATE OR REPLACE VIEW real_label_counts AS
SELECT task, split, label, count(*) AS n
FROM real_examples
GROUP BY ALL;
