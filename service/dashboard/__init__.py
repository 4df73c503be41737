"""The organiser dashboard: its session cookie, the page's numbers and the network picture.

Routes live in :mod:`service.routers.dashboard`; this package holds what they render.
"""
