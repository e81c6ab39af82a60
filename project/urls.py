"""URL routes for plain HTTP (Django views)."""

from django.contrib import admin
from django.urls import path

from consumers import views as web_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", web_views.index, name="chat"),
    path("status", web_views.status_page, name="status"),
    path("status.json", web_views.status_json, name="status-json"),
    path("healthz", web_views.healthz, name="healthz"),
    path("metrics", web_views.metrics, name="metrics"),
]
