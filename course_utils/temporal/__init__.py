"""TODO temporal."""
