"""TODO selfsup."""
