"""Observability: Prometheus metrics, health (gRPC health + HTTP alive/ready), structured logging."""
