"""The template language of agents and skills: `{{ … }}` expressions, Jinja in a sandbox,
size estimates, and the limits of a run."""
