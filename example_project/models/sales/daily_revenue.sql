MODEL (
  name sales.daily_revenue,
  partitions DailyPartitions(start='2025-01-01', end='2025-01-15'),
  checks (not_null(category), unique(category), in_range(revenue, min=0)),
  group sales,
  description 'Paid orders and net revenue per category, one day',
);
-- one row per category of the day; the daily report charts seven of these days
SELECT
  category,
  count(*) AS orders,
  round(sum(net_amount), 2) AS revenue,
  CAST($partition_key AS DATE) AS day
FROM sales.clean_orders
GROUP BY category
ORDER BY category
