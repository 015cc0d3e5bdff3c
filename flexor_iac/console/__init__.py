"""The operator console: server-rendered pages of the team server (docs/decisions/023)."""
