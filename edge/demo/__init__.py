"""`edge demo`: the whole gateway on one machine, with no configuration."""
