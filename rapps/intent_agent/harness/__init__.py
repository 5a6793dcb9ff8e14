"""Tool harness: scoped tools with JSON-schema inputs/outputs and permissions, every call traced."""
