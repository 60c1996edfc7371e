"""``python -m bench``: speed, throughput and memory of every tier, on 127.0.0.1 only.

See ``bench/__main__.py`` for what is measured and README.md (Performance) for the results."""
