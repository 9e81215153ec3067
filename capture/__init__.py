"""Click-ID capture: the parameter registry, the capture script and click registration."""
