"""The HTTP API and the CLI, over a real ``lotledger serve`` where the journey is end to end."""
