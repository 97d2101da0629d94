"""``oneguard eval``: run a guard over the paper's benchmarks, score it as the paper does, and
write the tables (with the published rows beside ours), plots and the guard-efficacy check."""
