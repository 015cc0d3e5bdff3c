"""`flexor serve`: the long-running runtime that fires schedule, webhook and event triggers."""
