"""nextric runtime: the layer every app stands on (E2, SDL, observability, data cards, guardrail engine).

The runtime imports no app: ``nextric`` <- apps (``testbed``, ``policy``, ``xapps``, ``rapps``) <- ``bench``
<- ``suite``.
"""

__version__ = "0.1.0"
