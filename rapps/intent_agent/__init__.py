"""Intent agent rApp: intents, tool harness, world models (FWM, CDWM) and the slicing planner."""
