"""TODO frequency."""
