"""Access and promotion policy: API keys, roles, managed environments, maintenance windows."""
