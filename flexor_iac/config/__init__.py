"""Project configuration: pydantic models (no I/O), the YAML/JSON loader, the project loader."""
