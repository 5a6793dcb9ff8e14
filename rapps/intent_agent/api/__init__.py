"""HTTP edge of the rApp: TMF921 intent routes, plan decisions, audit, KPIs, the operator page."""
