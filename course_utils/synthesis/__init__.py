"""TODO synthesis."""
