MODEL (
  name marketing.roi,
  partitions DailyPartitions(start='2025-01-01', end='2025-01-15'),
  checks (
    not_null(roi),
    unique(campaign),
    expression('roi >= -0.25', severity='warn'),
  ),
  group marketing,
  description 'Return on ad spend per campaign and day: (revenue - spend) / spend',
);
-- waits for both extracts: it reads both tables
SELECT
  a.campaign,
  CAST($partition_key AS DATE) AS day,
  a.spend,
  a.clicks,
  s.orders,
  s.revenue,
  round((s.revenue - a.spend) / a.spend, 3) AS roi
FROM marketing.ad_spend AS a
JOIN marketing.campaign_sales AS s ON s.campaign = a.campaign
ORDER BY a.campaign
