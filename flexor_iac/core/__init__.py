"""The bottom layer: constants, errors, output, time, processes, the project's paths and
the operation lock."""
