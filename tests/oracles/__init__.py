"""Reference implementations the runtime code is tested against (never imported by it)."""
