"""Built-in analysis handlers (see ``ml_interface.registry``)."""
