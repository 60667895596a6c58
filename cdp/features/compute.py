"""The features of every customer at once, aggregated by DuckDB from the extracted rows (no loop over customers).

1. The rows are read from their CSV files; money becomes currency units, times the retailer's local time.
2. One aggregation per grain: receipts per customer, purchase days (their gaps), months, stores, lines per customer
   and category, interactions per customer and type.
3. The retailer's own top categories, channels and interaction types become share and count features.
4. The result joins into one row per customer who bought or interacted before the date, in the feature order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cdp.features import definitions as d
from cdp.features.extract import Extract


@dataclass
class FeatureMatrix:
    """Customers (rows) by features (columns), as of a date."""

    customer_ids: list[uuid.UUID]
    features: list[d.Feature]
    values: np.ndarray  # float64, shape (customers, features)
    parameters: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [feature.name for feature in self.features]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.names.index(name)]


class FeaturesOutOfMemory(RuntimeError):
    """The retailer's rows do not fit in FEATURES_MEMORY; str(exc) says which setting to raise."""


def _connect(memory: str, folder: Path):
    """A DuckDB database in the extract's folder (removed with it), held to `memory`: its tables live on disk beyond
    that, so a large retailer's rows page out instead of failing with an out-of-memory error (tables of an in-memory
    database cannot leave memory)."""
    import duckdb

    db = duckdb.connect(
        str(folder / "features.duckdb"),
        config={"memory_limit": memory, "preserve_insertion_order": False, "temp_directory": str(folder / "spill")},
    )
    db.execute("SET TimeZone = 'UTC'")  # rows are read in UTC; local times are asked for by name
    return db


def _load(db, paths: Extract, scale: float, tz: str) -> None:
    def csv(path, columns: dict[str, str]) -> str:
        spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"
        return (
            f"read_csv('{path}', header=false, columns={spec}, delim=',', quote='\"', escape='\"', "
            "nullstr='', auto_detect=false)"
        )

    # rows name customers by their extract's key; PostgreSQL writes uuids with hyphens, SQLite without
    source = csv(paths.customers, {"k": "BIGINT", "customer": "VARCHAR"})
    db.execute(f"CREATE TABLE customers AS SELECT k, replace(lower(customer), '-', '') AS customer FROM {source}")
    db.execute(
        f"""CREATE TABLE receipts AS
        SELECT r.id, r.customer, r.purchased_at,
               timezone('{tz}', r.purchased_at) AS local_at, coalesce(r.store::VARCHAR, r.channel, '') AS store,
               coalesce(nullif(r.channel, ''), 'store') AS channel,
               r.total_minor / {scale} AS total, r.discount_minor / {scale} AS discount, r.items
        FROM {
            csv(
                paths.receipts,
                {
                    "id": "BIGINT",
                    "customer": "BIGINT",
                    "purchased_at": "TIMESTAMPTZ",
                    "store": "BIGINT",
                    "channel": "VARCHAR",
                    "total_minor": "BIGINT",
                    "discount_minor": "BIGINT",
                    "items": "BIGINT",
                },
            )
        } r"""
    )
    db.execute(
        f"""CREATE TABLE products AS SELECT * FROM {
            csv(paths.products, {"product": "BIGINT", "category": "VARCHAR", "category_name": "VARCHAR"})
        }"""
    )
    db.execute(
        f"""CREATE TABLE lines AS
        SELECT r.customer, l.receipt, l.product, coalesce(p.category, '') AS category, l.quantity,
               l.amount_minor / {scale} AS amount, l.discount_minor / {scale} AS discount
        FROM {
            csv(
                paths.lines,
                {
                    "receipt": "BIGINT",
                    "product": "BIGINT",
                    "quantity": "BIGINT",
                    "amount_minor": "BIGINT",
                    "discount_minor": "BIGINT",
                },
            )
        } l
        JOIN receipts r ON r.id = l.receipt LEFT JOIN products p ON p.product = l.product"""
    )
    db.execute(
        f"""CREATE TABLE events AS
        SELECT i.customer, i.occurred_at, i.type, i.channel
        FROM {
            csv(
                paths.interactions,
                {"customer": "BIGINT", "occurred_at": "TIMESTAMPTZ", "type": "VARCHAR", "channel": "VARCHAR"},
            )
        } i"""
    )


def _top(db, sql: str, limit: int) -> list[tuple]:
    return db.execute(f"{sql} LIMIT {limit}").fetchall()


FIXED_SQL = """
WITH purchases AS (SELECT * FROM receipts WHERE total >= 0),
base AS (
    SELECT customer,
        date_diff('day', max(local_at), $as_of_local) AS recency_days,
        count(DISTINCT local_at::DATE) AS frequency,
        count(*) AS receipts,
        avg(total) AS avg_basket,
        coalesce(stddev_pop(total) / nullif(avg(total), 0), 0) AS basket_spread,
        avg(items) AS items_per_basket,
        date_diff('day', min(local_at), $as_of_local) AS tenure_days,
        coalesce(sum(discount) / nullif(sum(total) + sum(discount), 0), 0) AS discount_share,
        avg(CASE WHEN isodow(local_at) >= 6 THEN 1.0 ELSE 0.0 END) AS weekend_share,
        avg(CASE WHEN hour(local_at) < 12 THEN 1.0 ELSE 0.0 END) AS morning_share,
        avg(CASE WHEN hour(local_at) >= 17 THEN 1.0 ELSE 0.0 END) AS evening_share,
        coalesce(sum(total) FILTER (WHERE month(local_at) IN (11, 12)) / nullif(sum(total), 0), 0) AS gift_season_share
    FROM purchases GROUP BY customer
),
money AS (
    SELECT customer, sum(total) AS monetary,
        coalesce(sum(total) FILTER (WHERE local_at >= $as_of_local - INTERVAL 365 DAY), 0) AS spend_365d,
        -- the trend compares purchases (returns would make its denominator small or negative)
        coalesce(sum(total) FILTER (WHERE total >= 0 AND local_at >= $as_of_local - INTERVAL 90 DAY), 0) AS spend_90d,
        coalesce(sum(total) FILTER (WHERE total >= 0 AND local_at >= $as_of_local - INTERVAL 180 DAY
                                      AND local_at < $as_of_local - INTERVAL 90 DAY), 0) AS spend_prev_90d
    FROM receipts GROUP BY customer
),
days AS (SELECT DISTINCT customer, local_at::DATE AS day FROM purchases),
gaps AS (
    SELECT customer, date_diff('day', lag(day) OVER (PARTITION BY customer ORDER BY day), day) AS gap FROM days
),
intervals AS (
    SELECT customer, avg(gap) AS interval_days, coalesce(stddev_pop(gap) / nullif(avg(gap), 0), 0) AS irregularity
    FROM gaps WHERE gap IS NOT NULL GROUP BY customer
),
months AS (SELECT customer, month(local_at) AS m, sum(total) AS spend FROM purchases GROUP BY ALL),
seasonality AS (
    SELECT customer, sum(power(spend / nullif(total_spend, 0), 2)) AS month_concentration
    FROM (SELECT *, sum(spend) OVER (PARTITION BY customer) AS total_spend FROM months) GROUP BY customer
),
store_counts AS (SELECT customer, store, count(*) AS n FROM purchases GROUP BY ALL),
stores AS (
    SELECT customer, count(*) AS stores, max(n) / sum(n) AS main_store_share FROM store_counts GROUP BY customer
),
line_stats AS (
    SELECT customer,
        coalesce(-sum(amount) FILTER (WHERE quantity < 0) / nullif(sum(amount) FILTER (WHERE quantity > 0), 0), 0)
            AS return_share,
        coalesce(sum(amount) FILTER (WHERE quantity > 0) / nullif(sum(quantity) FILTER (WHERE quantity > 0), 0), 0)
            AS avg_item_price,
        count(DISTINCT category) FILTER (WHERE quantity > 0 AND category <> '') AS categories,
        count(DISTINCT product) FILTER (WHERE quantity > 0) AS products
    FROM lines GROUP BY customer
),
event_stats AS (
    SELECT customer, count(*) AS events_365d, count(DISTINCT occurred_at::DATE) AS event_days_365d,
        date_diff('day', max(occurred_at), $as_of) AS event_recency_days
    FROM events GROUP BY customer
),
everyone AS (SELECT customer FROM receipts UNION SELECT customer FROM events)
SELECT e.customer,
    coalesce(b.recency_days, $never) AS recency_days,
    coalesce(b.frequency, 0) AS frequency,
    coalesce(b.receipts, 0) AS receipts,
    coalesce(m.monetary, 0) AS monetary,
    coalesce(m.spend_365d, 0) AS spend_365d,
    coalesce(b.avg_basket, 0) AS avg_basket,
    coalesce(b.basket_spread, 0) AS basket_spread,
    coalesce(b.items_per_basket, 0) AS items_per_basket,
    coalesce(l.avg_item_price, 0) AS avg_item_price,
    coalesce(b.tenure_days, 0) AS tenure_days,
    coalesce(i.interval_days, least(coalesce(b.tenure_days, $never), $never)) AS interval_days,
    coalesce(i.irregularity, 0) AS interval_irregularity,
    CASE WHEN coalesce(m.spend_90d, 0) + coalesce(m.spend_prev_90d, 0) > 0
         THEN (m.spend_90d - m.spend_prev_90d) / (m.spend_90d + m.spend_prev_90d) ELSE 0 END AS trend,
    coalesce(b.discount_share, 0) AS discount_share,
    least(coalesce(l.return_share, 0), 1) AS return_share,
    coalesce(l.categories, 0) AS categories,
    coalesce(l.products, 0) AS products,
    coalesce(s.stores, 0) AS stores,
    coalesce(s.main_store_share, 0) AS main_store_share,
    coalesce(b.weekend_share, 0) AS weekend_share,
    coalesce(b.morning_share, 0) AS morning_share,
    coalesce(b.evening_share, 0) AS evening_share,
    coalesce(z.month_concentration, 0) AS month_concentration,
    coalesce(b.gift_season_share, 0) AS gift_season_share,
    coalesce(v.events_365d, 0) AS events_365d,
    coalesce(v.event_days_365d, 0) AS event_days_365d,
    coalesce(v.event_recency_days, $never) AS event_recency_days
FROM everyone e
LEFT JOIN base b USING (customer) LEFT JOIN money m USING (customer) LEFT JOIN intervals i USING (customer)
LEFT JOIN seasonality z USING (customer) LEFT JOIN stores s USING (customer) LEFT JOIN line_stats l USING (customer)
LEFT JOIN event_stats v USING (customer)
"""


def _dynamic(db) -> tuple[list[d.Feature], list[tuple[str, list[str]]], dict[str, str]]:
    """Share and count features of the retailer's own top categories, channels and interaction types: per grain
    (lines, receipts, interactions) one aggregation computing all of that grain's columns in a single pass, joined
    on the customer. Returns the features, the grains as (SQL, its value columns in feature order), the parameters."""
    features: list[d.Feature] = []
    grains: list[tuple[str, list[str]]] = []
    categories = _top(
        db,
        "SELECT l.category, any_value(p.category_name) FROM lines l LEFT JOIN products p ON p.category = l.category "
        "WHERE l.category <> '' AND l.quantity > 0 GROUP BY l.category ORDER BY sum(l.amount) DESC",
        d.TOP_CATEGORIES,
    )
    if categories:
        columns = [f"coalesce(sum(amount) FILTER (WHERE category = $c{i}) / nullif(sum(amount), 0), 0) AS v{i}"
                   for i in range(len(categories))]  # fmt: skip
        grains.append(
            (f"SELECT customer, {', '.join(columns)} FROM lines WHERE quantity > 0 GROUP BY customer",
             [f"v{i}" for i in range(len(categories))])
        )  # fmt: skip
        features += [d.category_feature(key, name or key) for key, name in categories]
    channels = _top(db, "SELECT channel FROM receipts GROUP BY channel ORDER BY count(*) DESC", d.TOP_CHANNELS)
    if len(channels) > 1:  # one channel says nothing
        columns = [f"avg(CASE WHEN channel = $h{i} THEN 1.0 ELSE 0.0 END) AS v{i}" for i in range(len(channels))]
        grains.append(
            (f"SELECT customer, {', '.join(columns)} FROM receipts WHERE total >= 0 GROUP BY customer",
             [f"v{i}" for i in range(len(channels))])
        )  # fmt: skip
        features += [d.channel_feature(channel) for (channel,) in channels]
    types = _top(db, "SELECT type FROM events GROUP BY type ORDER BY count(*) DESC", d.TOP_EVENT_TYPES)
    if types:
        columns = [f"count(*) FILTER (WHERE type = $t{i}) AS v{i}" for i in range(len(types))]
        grains.append(
            (f"SELECT customer, {', '.join(columns)} FROM events GROUP BY customer",
             [f"v{i}" for i in range(len(types))])
        )  # fmt: skip
        features += [d.event_feature(event_type) for (event_type,) in types]
    parameters = {f"c{i}": key for i, (key, _) in enumerate(categories)}
    parameters |= {f"h{i}": channel for i, (channel,) in enumerate(channels)} if len(channels) > 1 else {}
    parameters |= {f"t{i}": event_type for i, (event_type,) in enumerate(types)}
    return features, grains, parameters


def compute(paths: Extract, *, as_of: dt.datetime, tz: str, currency_exponent: int, memory: str) -> FeatureMatrix:
    """The feature matrix of the extracted rows, as of `as_of` (aware)."""
    import duckdb

    db = _connect(memory, paths.folder)
    try:
        _load(db, paths, float(10**currency_exponent), tz)
        as_of_local = db.execute("SELECT timezone(?, ?::TIMESTAMPTZ)", [tz, as_of.isoformat()]).fetchone()[0]
        db.execute(
            f"CREATE TABLE fixed AS {FIXED_SQL}",
            {"as_of": as_of, "as_of_local": as_of_local, "never": d.NEVER_DAYS},
        )
        dynamic, grains, dynamic_params = _dynamic(db)
        select = ", ".join(f"f.{feature.name}" for feature in d.FIXED)
        joins = ""
        for index, (sql, columns) in enumerate(grains):
            select += "".join(f", coalesce(x{index}.{column}, 0)" for column in columns)
            joins += f" LEFT JOIN ({sql}) x{index} ON x{index}.customer = f.customer"
        query = (
            f"SELECT c.customer, {select} FROM fixed f JOIN customers c ON c.k = f.customer{joins} ORDER BY c.customer"
        )
        result = db.execute(query, dynamic_params).fetchnumpy() if dynamic_params else db.execute(query).fetchnumpy()
    except duckdb.OutOfMemoryException as exc:
        raise FeaturesOutOfMemory(
            f"computing the features needs more memory than FEATURES_MEMORY ({memory}) allows: raise that setting"
        ) from exc
    finally:
        db.close()
    features = [*d.FIXED, *dynamic]
    keys = list(result)
    customers = [uuid.UUID(text) for text in result[keys[0]]]
    if not customers:
        return FeatureMatrix([], features, np.zeros((0, len(features))))
    values = np.column_stack([np.asarray(result[key], dtype=np.float64) for key in keys[1:]])
    return FeatureMatrix(customers, features, values)
