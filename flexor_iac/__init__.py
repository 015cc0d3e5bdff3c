"""flexor-iac: plan-and-apply deployment of Flexor agent projects on the Pulumi engine."""

__version__ = "0.1.0"
