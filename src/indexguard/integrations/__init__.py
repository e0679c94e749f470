"""Integrations: how indexguard plugs into what sites already run (Torznab/Newznab proxy, web
middleware, webhooks, tracker exporters, the canary self-audit)."""
