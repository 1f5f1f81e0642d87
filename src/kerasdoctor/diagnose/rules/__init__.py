"""The rule catalog."""
