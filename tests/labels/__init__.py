"""Labels: codes, layouts, renderings."""
