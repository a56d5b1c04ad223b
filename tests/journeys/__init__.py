"""Users' journeys end to end: browser pages and whole regulator stories."""
