"""`make chaos`: fault injection against servers the run starts itself (see bench.chaos.run)."""
