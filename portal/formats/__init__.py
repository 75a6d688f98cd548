"""Date formats Django's own locales lack (FORMAT_MODULE_PATH): only those, per language."""
