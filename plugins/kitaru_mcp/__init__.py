"""``kitaru mcp``: a Model Context Protocol server over Kitaru's client.

Loaded as the ``mcp`` plugin of the ``kitaru`` entry-point group (``_plugin.py`` adds the
command); the server itself (``_server.py``) imports the MCP SDK only when it starts.
See docs/integrations/mcp.md.
"""
