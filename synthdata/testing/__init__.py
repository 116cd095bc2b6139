"""Support for tests and benchmarks that is not part of the product (known-answer generators)."""
