"""linechat: a line-based TCP chat adapter, built only on the gateway toolkit.

The walk-through is docs/writing-an-adapter.md. Run it next to the other adapters with::

    GATEWAY_ADAPTERS = {"linechat": "examples.linechat.adapter.LineChatAdapter", ...}
    LINECHAT_PORT = 7000

then ``manage.py runadapter linechat`` and ``nc 127.0.0.1 7000``.
"""
