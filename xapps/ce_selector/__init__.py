"""Channel-estimator selector xApp: per cell / UE group, LS vs LMMSE vs a neural estimator, chosen on pilots."""
