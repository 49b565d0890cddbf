"""Load generators and the benchmark report (``make bench``, ``python -m bench.run``)."""
