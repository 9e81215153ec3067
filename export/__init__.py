"""Offline-conversion export: the platforms' file formats, the rules, the nightly run."""
