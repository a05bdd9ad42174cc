"""Signal processing on decoded values: samples, windows and summaries. Pure, no I/O."""
