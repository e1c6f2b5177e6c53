"""Learned topic models shipped with mediawatch: `<topic name>.json`, written by `make train`."""
