"""The composition root: the ``nextric`` command and local process supervision.

The only package that imports every app; nothing imports it.
"""
