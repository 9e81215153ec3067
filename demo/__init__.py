"""A demo landing page and lead form, served in development only."""
