"""specc's own backends (installed as `specc.backends`).

Each backend is a package here, registered through the entry-point group
`specc.backends` in pyproject.toml, exactly as a third-party backend would be.
"""
