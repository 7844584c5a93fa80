"""Integrations with the frameworks CRMs are built with (optional extras).

Nothing in the core imports this package; each subpackage imports its framework, so install
the extra first (``servicewf[django]``).
"""
