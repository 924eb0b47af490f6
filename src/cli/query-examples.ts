/** Worked examples for `ticklake query`; docs/queries.md shows them verbatim (a test checks). */
export const QUERY_EXAMPLES = {
  latestFxMid: `SELECT pair, arg_max((bid + ask) / 2, ts) AS mid, max(ts) AS at
FROM fx_quotes
GROUP BY pair
ORDER BY pair`,

  stockBars1m: `SELECT symbol,
       time_bucket(INTERVAL 1 minute, ts) AS minute,
       arg_min(last, ts) AS open,
       max(last) AS high,
       min(last) AS low,
       arg_max(last, ts) AS close,
       sum(volume) AS volume
FROM stock_quotes
GROUP BY symbol, minute
ORDER BY symbol, minute`,

  returnAfterNews: `WITH mentions AS (
  SELECT unnest(symbols) AS symbol, ts, sentiment FROM news
), moves AS (
  SELECT m.sentiment,
         (SELECT arg_max(q.last, q.ts) FROM stock_quotes q WHERE q.symbol = m.symbol AND q.ts < m.ts) AS before,
         (SELECT arg_min(q.last, q.ts) FROM stock_quotes q
           WHERE q.symbol = m.symbol AND q.ts >= m.ts + INTERVAL 5 minute) AS after
  FROM mentions m
)
SELECT CASE WHEN sentiment >= 0 THEN 'positive' ELSE 'negative' END AS news,
       count(*) AS articles,
       round(avg(after / before - 1) * 100, 3) AS avg_return_5m_pct
FROM moves
WHERE before IS NOT NULL AND after IS NOT NULL
GROUP BY news
ORDER BY news DESC`,
} as const;
