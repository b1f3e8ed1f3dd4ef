"""TODO recognition."""
