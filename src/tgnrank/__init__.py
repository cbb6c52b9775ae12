"""tgnrank: Temporal Graph Networks that rank future investor-company links."""

__version__ = "0.1.0"
