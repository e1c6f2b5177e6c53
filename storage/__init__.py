"""Storage: the tables every other package shares, the engine, migrations and all queries."""
