MODEL (
  name retail.daily_totals,
  partitions DailyPartitions(start='2025-01-06', end='2025-01-20'),
  checks (
    not_null(region),
    unique(region),
    row_count(min=4, max=4),
    in_range(revenue, min=0),
    expression('avg_basket < 500', severity='warn', name='plausible_basket'),
  ),
  group retail,
  description 'Sales, units and revenue of one day per region: all four regions of the day in one table',
);
-- A day reads every region of retail/daily_sales (date x region): the default
-- mapping between a daily asset and a date x region one is Dimension('date', Identity()).
SELECT
  region,
  count(*) AS sales,
  sum(quantity) AS units,
  round(sum(quantity * unit_price), 2) AS revenue,
  round(sum(quantity * unit_price) / count(*), 2) AS avg_basket,
  count(DISTINCT store_id) AS stores
FROM retail.daily_sales
GROUP BY region
ORDER BY region
