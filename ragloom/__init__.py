"""ragloom interfaces: the CLI and (later) the HTTP service."""
