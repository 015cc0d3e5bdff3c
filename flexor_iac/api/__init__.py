"""The team server's HTTP API (`/api/v1`), served by `flexor serve` in team mode."""
