"""Built-in correlators. The core correlator is added with the correlate command."""
