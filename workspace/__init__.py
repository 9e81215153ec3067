"""The staff workspace: leads, search, goals and conversions (imports export directly)."""
