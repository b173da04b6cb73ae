"""Who is asking and what they may do: identities, API keys, OIDC tokens, write permissions.

The model is explained for an agency's security officer in `docs/security.md`.
"""
