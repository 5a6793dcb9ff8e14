"""Pure PHY numerics shared by the testbed and the apps: NR DMRS pilot geometry, TDL channel statistics,
channel estimators (LS, LMMSE, a learned one served with onnxruntime) and the pilot cross-validation proxy.

No app logic and no I/O besides loading a model artefact: the testbed's emulator uses these estimators to turn
pilot observations into NMSE, the channel-estimator selector xApp scores them on reported pilots.
"""
