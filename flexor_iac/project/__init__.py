"""A Flexor project on disk: reading, models, checks and validation."""
