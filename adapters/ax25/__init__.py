"""The AX.25 packet radio adapter: KISS TNCs, UI frames and APRS messaging (docs/ax25.md).

The codecs (``kiss``, ``frame``, ``aprs``) are pure; ``transport`` and ``adapter`` do the I/O.
"""
