"""Deploying a project with the Pulumi engine: binding, snapshots, plans, the program, stacks."""
