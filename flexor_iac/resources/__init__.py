"""Pulumi dynamic resources: one module per kind (provider + Resource subclass).

Providers are importable from the installed package (never defined in `__main__`), hold no
clients, keep `check`/`diff` pure, and return full outputs from `update`.
"""
