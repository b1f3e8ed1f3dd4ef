"""TODO interpretability."""
