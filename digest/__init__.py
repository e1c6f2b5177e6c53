"""Digest: choosing what is new, rendering it, and delivering it."""
