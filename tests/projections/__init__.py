"""Read models rebuilt by replaying the log."""
