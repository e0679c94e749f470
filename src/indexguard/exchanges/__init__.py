"""Hash banks fed from where hash lists really come from: NCMEC, ThreatExchange, StopNCII, files and URLs.

Workflow layer: uses the store, imports no face. The `threatexchange` library is the optional
`exchanges` extra, imported lazily.
"""
