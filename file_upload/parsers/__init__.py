"""Format detection and statistics extraction; see ``registry``."""
