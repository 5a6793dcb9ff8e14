"""Two-phase receding-horizon slicing planner over the world models (FWM, CDWM) and the digital twin."""
