"""Single sign-on: OpenID Connect sign-in with accounts and teams from the provider's claims, and SCIM-style
deactivation (ADR 0037)."""
