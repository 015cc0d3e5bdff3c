"""One module per verb: a plain function taking typed arguments and returning an exit code."""
