"""Cross-file checks of a loaded project, one module per concern (each yields diagnostics)."""
