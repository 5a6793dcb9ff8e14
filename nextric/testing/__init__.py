"""Helpers for tests and benchmarks that need real servers (Redis) started on free loopback ports."""
