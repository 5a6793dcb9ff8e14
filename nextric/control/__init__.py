"""Pure control laws the xApps run on the network and the digital twin runs inside its rollouts: slice PRB
allocation (:mod:`nextric.control.slices`), transport link shares (:mod:`nextric.control.transport`) and the
plan/policy they run inside (:mod:`nextric.control.policy`). No I/O."""
