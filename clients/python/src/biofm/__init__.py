"""BioFileManager's command line and Python client."""

from .client import ApiError, Client

__all__ = ["ApiError", "Client", "__version__"]
__version__ = "0.1.0"
