MODEL (
  name inventory.daily_metrics,
  partitions DailyPartitions(start='2025-01-06', end='2025-01-13'),
  checks (
    not_null(sku),
    unique(sku),
    in_range(on_hand, min=0),
    in_range(units_sold, min=0),
    expression('days_of_cover IS NULL OR days_of_cover < 365', severity='warn', name='slow_movers'),
  ),
  group inventory,
  description 'Per SKU and day: units sold, revenue, stock on hand, days of cover, whether to reorder',
);
-- Transactions and the stock count of the same day (the default mapping: same day).
WITH sold AS (
  SELECT sku, sum(quantity) AS units_sold, round(sum(quantity * unit_price), 2) AS revenue
  FROM inventory.transactions
  GROUP BY sku
)
SELECT
  stock.sku,
  stock.on_hand,
  stock.reorder_point,
  coalesce(sold.units_sold, 0) AS units_sold,
  coalesce(sold.revenue, 0.0) AS revenue,
  CASE WHEN coalesce(sold.units_sold, 0) = 0 THEN NULL
       ELSE round(stock.on_hand / sold.units_sold, 1) END AS days_of_cover,
  stock.on_hand < stock.reorder_point AS needs_reorder
FROM inventory.stock AS stock
LEFT JOIN sold ON sold.sku = stock.sku
ORDER BY stock.sku
