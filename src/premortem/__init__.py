"""premortem: find the next Kubernetes outage in your configuration before it happens."""

__version__ = "0.1.0"
