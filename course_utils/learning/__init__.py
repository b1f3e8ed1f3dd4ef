"""TODO learning."""
