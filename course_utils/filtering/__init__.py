"""TODO filtering."""
