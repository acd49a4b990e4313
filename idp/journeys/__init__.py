"""The journey engine: policies are planned into steps and executed, page by page.

Nothing here imports Flask: steps take plain values and return plain values, and the views
in idp/journeys/views.py translate between them and HTTP.
"""
