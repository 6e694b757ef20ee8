"""Math core: dictionaries, Lasso solvers, network reconstruction (no pandas, no I/O)."""
