"""E2 termination bridge: E2AP associations from gNBs (SCTP, or TCP framing) <-> the internal E2 hub (gRPC)."""
