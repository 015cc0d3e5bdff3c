"""The click command line: the options, the verb families and the error boundary."""
