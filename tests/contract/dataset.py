"""A small hand-made sales data set, and the yearly-sales figures computed from it by hand.

The table is created exactly per the README's schema. Edge cases: sales at exactly
midnight on Jan 1 and at Dec 31 23:59:59, a month without sales (August 2023), the
README's other accepted text forms on SQLite ('T' separator, fractional seconds), prices
whose products must round to exact cents, a big previous-year sale one second before the
year starts, and a big next-year sale at midnight after it ends (both must not leak in).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy

YEAR = 2023

SCHEMA = """
CREATE TABLE sales (
    id          integer PRIMARY KEY,
    sold_at     timestamp NOT NULL,
    region      text NOT NULL,
    product     text NOT NULL,
    category    text NOT NULL,
    customer_id integer NOT NULL,
    quantity    integer NOT NULL,
    unit_price  numeric(12,2) NOT NULL
)
"""

# (sold_at, region, product, category, customer_id, quantity, unit_price)
ROWS: list[tuple[str, str, str, str, int, int, str]] = [
    ("2023-01-01 00:00:00", "North", "Widget A", "Gadgets", 101, 2, "10.00"),
    ("2023-01-15 12:30:00", "South", "Widget B", "Gadgets", 102, 1, "19.99"),
    ("2023-01-31 23:59:59", "East", "Gizmo", "Gadgets", 103, 3, "0.10"),
    ("2023-02-01 00:00:00", "West", "Sprocket", "Hardware", 104, 10, "1.15"),
    ("2023-02-14 09:00:00", "North", "Bolt", "Hardware", 101, 7, "0.33"),
    ("2023-03-03 10:00:00", "South", "Nut", "Hardware", 105, 3, "33.33"),
    ("2023-03-31 23:59:59.500000", "East", "Widget A", "Gadgets", 106, 1, "10.00"),
    ("2023-04-10T08:15:00", "West", "Lamp", "Home", 107, 2, "45.50"),
    ("2023-04-20 18:00:00", "North", "Chair", "Home", 108, 1, "120.00"),
    ("2023-05-05 05:05:05", "South", "Desk", "Home", 109, 1, "250.75"),
    ("2023-05-25 15:00:00", "East", "Pen", "Office", 110, 12, "1.99"),
    ("2023-06-01 00:00:00", "West", "Paper", "Office", 111, 5, "4.49"),
    ("2023-06-30 23:59:59", "North", "Stapler", "Office", 112, 1, "8.95"),
    ("2023-07-04 12:00:00", "South", "Lamp", "Home", 113, 1, "45.50"),
    ("2023-07-15 12:00:00", "East", "Widget B", "Gadgets", 102, 2, "19.99"),
    # no sale in August 2023
    ("2023-09-09 09:09:09", "West", "Gizmo", "Gadgets", 114, 4, "0.10"),
    ("2023-09-30 23:59:59", "North", "Desk", "Home", 115, 1, "250.75"),
    ("2023-10-01 00:00:00", "South", "Chair", "Home", 116, 2, "120.00"),
    ("2023-10-31 13:13:13", "East", "Sprocket", "Hardware", 104, 20, "1.15"),
    ("2023-11-11 11:11:11", "West", "Eraser", "Office", 117, 3, "0.05"),
    ("2023-11-24 20:00:00", "North", "Widget A", "Gadgets", 101, 5, "10.00"),
    ("2023-12-01 00:00:01", "South", "Nut", "Hardware", 105, 1, "33.33"),
    ("2023-12-24 18:00:00", "East", "Lamp", "Home", 118, 1, "45.50"),
    ("2023-12-31 23:59:59", "West", "Chair", "Home", 119, 1, "120.00"),
    # the previous year (2022), including its last second
    ("2022-01-01 00:00:00", "South", "Chair", "Home", 108, 1, "120.00"),
    ("2022-06-15 10:00:00", "East", "Desk", "Home", 109, 2, "250.75"),
    ("2022-12-31 23:59:59", "North", "Widget A", "Gadgets", 101, 100, "10.00"),
    ("2022-12-31 23:59:59.999999", "West", "Pen", "Office", 110, 1, "0.99"),
    # outside both years
    ("2021-12-31 23:59:59", "East", "Lamp", "Home", 118, 1, "45.50"),
    ("2024-01-01 00:00:00", "North", "Desk", "Home", 115, 50, "250.75"),
]

# The same figures worked out on paper (the computation below must agree with them).
BY_HAND = {
    "orders": 24,
    "units": 90,
    "revenue": Decimal("1529.73"),
    "previous_revenue": Decimal("1622.49"),
    "months": {
        1: (3, 6, Decimal("40.29")),
        2: (2, 17, Decimal("13.81")),
        3: (2, 4, Decimal("109.99")),
        4: (2, 3, Decimal("211.00")),
        5: (2, 13, Decimal("274.63")),
        6: (2, 6, Decimal("31.40")),
        7: (2, 3, Decimal("85.48")),
        8: (0, 0, Decimal("0.00")),
        9: (2, 5, Decimal("251.15")),
        10: (2, 22, Decimal("263.00")),
        11: (2, 8, Decimal("50.15")),
        12: (3, 3, Decimal("198.83")),
    },
    "regions": {
        "North": Decimal("452.01"),
        "South": Decimal("689.56"),
        "East": Decimal("142.66"),
        "West": Decimal("245.50"),
    },
    "top_products": [
        ("Desk", Decimal("501.50")),
        ("Chair", Decimal("480.00")),
        ("Lamp", Decimal("182.00")),
        ("Nut", Decimal("133.32")),
        ("Widget A", Decimal("80.00")),
        ("Widget B", Decimal("59.97")),
        ("Sprocket", Decimal("34.50")),
        ("Pen", Decimal("23.88")),
        ("Paper", Decimal("22.45")),
        ("Stapler", Decimal("8.95")),
    ],
}


def load(engine: sqlalchemy.Engine) -> None:
    """Create `sales` per the README and insert ROWS."""
    with engine.begin() as conn:
        conn.exec_driver_sql(SCHEMA)
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO sales (id, sold_at, region, product, category, customer_id,"
                " quantity, unit_price) VALUES (:id, :sold_at, :region, :product, :category,"
                " :customer_id, :quantity, :unit_price)"
            ),
            [
                {
                    "id": i,
                    "sold_at": r[0],
                    "region": r[1],
                    "product": r[2],
                    "category": r[3],
                    "customer_id": r[4],
                    "quantity": r[5],
                    "unit_price": r[6] if engine.dialect.name == "sqlite" else Decimal(r[6]),
                }
                for i, r in enumerate(ROWS, start=1)
            ],
        )


def _year(row: tuple[str, str, str, str, int, int, str]) -> int:
    return int(row[0][:4])


def _month(row: tuple[str, str, str, str, int, int, str]) -> int:
    return int(row[0][5:7])


def revenue(row: tuple[str, str, str, str, int, int, str]) -> Decimal:
    return row[5] * Decimal(row[6])


def expected(year: int = YEAR) -> dict[str, object]:
    """The yearly-sales figures for `year`, computed from ROWS in exact decimals."""
    this = [r for r in ROWS if _year(r) == year]
    prev = [r for r in ROWS if _year(r) == year - 1]
    months = {m: (0, 0, Decimal("0.00")) for m in range(1, 13)}
    for r in this:
        o, u, v = months[_month(r)]
        months[_month(r)] = (o + 1, u + r[5], v + revenue(r))
    regions: dict[str, Decimal] = defaultdict(Decimal)
    products: dict[str, Decimal] = defaultdict(Decimal)
    for r in this:
        regions[r[1]] += revenue(r)
        products[r[2]] += revenue(r)
    top = sorted(products.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return {
        "orders": len(this),
        "units": sum(r[5] for r in this),
        "revenue": sum((revenue(r) for r in this), Decimal("0.00")),
        "previous_revenue": sum((revenue(r) for r in prev), Decimal("0.00")),
        "months": months,
        "regions": dict(regions),
        "top_products": top,
    }
