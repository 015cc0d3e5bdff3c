"""The control plane: the runtime's store of environments, snapshots, agents and their state."""
