"""Intent reports: fulfilment of the expectation targets from the KPIs observed after enactment."""
