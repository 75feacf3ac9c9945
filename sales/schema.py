"""The `sales` table that every report reads (documented in the README)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
)

metadata = MetaData()

sales = Table(
    "sales",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("sold_at", DateTime(timezone=False), nullable=False, comment="UTC"),
    Column("region", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
)

# Reports filter by time range first; the covering index lets the per-month
# aggregations run from the index alone.
Index(
    "ix_sales_sold_at_cover",
    sales.c.sold_at,
    sales.c.region,
    sales.c.product,
    sales.c.category,
    sales.c.quantity,
    sales.c.unit_price,
)
