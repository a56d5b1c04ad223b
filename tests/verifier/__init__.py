"""The stand-alone verifier."""
