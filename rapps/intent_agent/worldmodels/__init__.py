"""World models of the intent agent: Field World Model (FWM) and Control/Dynamics World Model (CDWM).

Serving code here uses numpy + onnxruntime only; torch is imported only in the ``train_*`` modules."""
