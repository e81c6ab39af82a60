"""Django settings for the reference side (Daphne + Channels) of bench/bench_web.py.

Our side runs `manage.py runadapter web` with the project's settings instead.
"""

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels"]
USE_TZ = True
DATABASES = {}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ASGI_APPLICATION = "bench.web_reference.asgi.application"
