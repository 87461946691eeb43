"""Use-cases: the only API the CLI and the MCP server call."""
