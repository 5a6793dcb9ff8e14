"""O-RAN SC bridge of a nextric xApp, on ricxappframe (its own environment: deploy/osc/requirements-osc.txt).

- registers the xApp with the App Manager (ricxappframe, from the descriptor in CONFIG_FILE),
- answers A1 policy requests (RMR 20010 A1_POLICY_REQ) with A1 policy responses (20011 A1_POLICY_RESP) after
  forwarding the policy to the nextric policy service (its A1-P API) and storing it in SDL (ricsdl),
- asks the A1 mediator for the policies already in force at start (20012 A1_POLICY_QUERY).
"""
