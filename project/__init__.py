"""The Django project: settings, ASGI routing, URL routes and the Celery app."""

# Load the Celery app with Django so that @shared_task binds to it (Celery's Django recipe).
from project.celery import app as celery_app

__all__ = ["celery_app"]
