"""The two benchmark consumers, served by our web adapter and by Daphne + Django Channels."""
