"""Who may read the operator pages (/status, /status.json, /metrics) when DEBUG is off.

One rule for the three: with DEBUG on and no METRICS_TOKEN they are open (development);
otherwise a request needs either a logged-in active staff user (the Django admin's session: an
operator in a browser) or ``Authorization: Bearer <METRICS_TOKEN>`` (a scraper or a script).
Anyone else gets 401 with what to send, or, for the HTML page, a redirect to the admin login.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

logger = logging.getLogger(__name__)

HOW = (
    "log in as a staff user at /admin/ first, or send the header "
    "Authorization: Bearer <METRICS_TOKEN> (set METRICS_TOKEN on the server)"
)


async def refusal(request: HttpRequest, *, page: bool = False) -> HttpResponse | None:
    """None when ``request`` may read an operator page; else the response that refuses it.

    Args:
        request: the request (its session user is looked up only when no token matched).
        page: an HTML page for people: refused with a redirect to the admin login.
    """
    token = settings.METRICS_TOKEN
    if settings.DEBUG and not token:
        return None
    authorization = request.headers.get("Authorization", "")
    if authorization:
        if token and bearer_matches(authorization, token):
            return None
        # A scraper with a stale token, worth saying; bare requests (scanners) are not.
        logger.warning("%s: refused a request whose bearer token does not match", request.path)
    user = await request.auser()
    if user.is_active and user.is_staff:
        return None
    if page and not authorization:
        query = urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(f"/admin/login/?{query}")
    return HttpResponse(
        f"{request.path} is for operators: {HOW}\n",
        status=401,
        content_type="text/plain; charset=utf-8",
        headers={"WWW-Authenticate": 'Bearer realm="operators"', "Cache-Control": "no-store"},
    )


def bearer_matches(header: str, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (scheme case-insensitive)."""
    scheme, _, credentials = header.partition(" ")
    # Compared in constant time: the token is a password.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )
