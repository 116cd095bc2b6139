"""The streaming (pandas) executor: run, checks (the reference validator), dedup, aggregate."""
