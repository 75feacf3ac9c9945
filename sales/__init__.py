"""The sales data: its schema, its database engine, the seed, and the one bulk loader."""
