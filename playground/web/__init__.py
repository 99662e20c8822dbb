"""`txplay web`: the app served to browsers, one process and one database per tab, safe by default.

options: the command's arguments and what they make safe; server: the web server (textual-serve's,
with the token, the visitor cap and a folder per visitor); visitor: the process each tab runs.
"""
