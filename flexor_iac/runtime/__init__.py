"""The agent runtime: templates now; the executor, actions and PlexiFact with the runtime issue."""
