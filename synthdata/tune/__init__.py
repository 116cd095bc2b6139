"""Tuning a generator for what it is for: an optuna study over a backend's search space, each trial
fitted on the inner training split and scored on the validation split (the test split is never read),
stored beside the run registry so a study resumes after a kill and several workers can share it.

`synthdata tune CONFIG` (cli/tune.py) and `tune()` (api.py) are the entry points; optuna is imported
only when a study runs (the optional `tune` extra).
"""

OBJECTIVES: tuple[str, ...] = ("synthetic-only", "augmented", "fidelity")  # see objective.py
