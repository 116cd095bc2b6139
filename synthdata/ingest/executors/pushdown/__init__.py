"""The push-down executor: run, checks and write as SQL inside the source database; dialects."""
