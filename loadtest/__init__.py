"""Load tests: the capacity probe and the comparison harness."""
