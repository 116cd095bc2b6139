"""Shared test support, one module per world: cli (the in-process runner), eval_world, gan_world,
pipeline_world, event_log (random event logs with named dirt), files (small input files),
tune_world (a tiny histories-model config for `synthdata tune`)."""
