"""Which companies the diagnostic ranks: ``--scope known|new_companies|all`` (docs/design.md).

``known`` is the protocol between companies and investors that both have a history; ``new_companies``
ranks the window's brand-new companies (no event before the window) from their attributes; ``all``
ranks the union of both and reports each part beside it. This module imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tgnrank.config.params import Options, Section, setting

KNOWN, NEW_COMPANIES, ALL = "known", "new_companies", "all"
SCOPES = (KNOWN, NEW_COMPANIES, ALL)


@dataclass(frozen=True)
class ScopeOptions(Section):
    """The companies a diagnostic ranks."""

    TITLE = "scope"

    scope: str = setting(KNOWN, Options(SCOPES), "companies ranked: 'known' (an event before the window; "
                         "today's protocol), 'new_companies' (no event before the window: their first links "
                         "to known investors, scored from their attributes) or 'all' (both, reported apart and "
                         "together)")
