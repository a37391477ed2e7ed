"""The aiohttp side of the responder: one app factory (app.py), one module per concern."""
