"""The browser workspace (`account-health serve`): a shell over the library, like the CLI
and the MCP server. Needs the web extra: pip install 'account-health-skill[web]'.

    from skill.web.app import WebConfig, create_app
"""
