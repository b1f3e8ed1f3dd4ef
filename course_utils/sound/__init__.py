"""TODO sound."""
