"""The agent runtime: executor, steps, templates, standard-library actions, PlexiFact."""
