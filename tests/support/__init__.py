"""Shared test support, one module per world: cli (the in-process runner), eval_world, gan_world,
pipeline_world, files (small input files)."""
