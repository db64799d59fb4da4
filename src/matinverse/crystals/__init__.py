"""Crystal structures: data sets and the fixed-slot representation (in progress)."""
