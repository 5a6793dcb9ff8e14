"""E2-style interface runtime: generated messages (``nextric.e2.v1``), an async client for xApps and a
server base for E2 nodes.

Submodules: ``ids`` (canonical keys), ``errors`` (E2AP causes <-> gRPC status), ``validation`` (pure checks
of subscriptions and controls, TS 28.541 sums), ``hub`` (subscriptions, sequence numbers, replay),
``server`` (the gRPC servicer and server factory), ``client`` (reconnecting async client).
"""
