"""The MCP server for agents: tools (plain functions) and the server that registers them."""
