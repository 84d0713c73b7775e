"""`make bench`: capkit's mock against Stoplight Prism 5 on the same spec, with wrk on loopback.

`python -m bench` runs it (see bench/run.py) and writes bench/RESULTS.md. Nothing here is
imported by capkit, mockserver or contracts.
"""
