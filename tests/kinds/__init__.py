"""Job kinds that exist only in tests: proof that a kind is one module."""
