"""The sales database: its schema and a deterministic sample data set."""
