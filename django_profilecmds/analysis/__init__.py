"""Pure functions over run data."""
