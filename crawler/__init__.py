"""Crawler: spiders, fetch policy, parsing, extraction and the item pipeline."""
