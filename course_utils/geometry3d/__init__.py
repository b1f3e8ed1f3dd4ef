"""TODO geometry3d."""
