"""Intent compiler: natural language (or an LLM's tool call) -> a validated machine-readable intent spec."""
