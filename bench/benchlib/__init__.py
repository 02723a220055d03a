"""Issue #8 benchmark: our lifecycle against its peers and the machine's limits (stdlib only)."""
