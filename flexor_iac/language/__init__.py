"""The template language of agents and skills: `{{ … }}` expressions, Jinja in a sandbox,
rendered in capped worker processes, and the limits of a rendering."""
