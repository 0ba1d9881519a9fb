"""The heavy batch work on a Ray cluster (``--ray ADDRESS``): optional, for corpora where one
machine's cores take hours (the stronger model embeds ~25 abstracts/s on 2 cores: all of arXiv
is most of a day).

The division of labour is the same for every job: the driver (the ``paperboard`` command) reads
the work from the store, Ray tasks compute, and the driver writes each finished chunk through
the store in one transaction. Tasks never touch the database, so a single-writer SQLite file
works as well as PostgreSQL, and nodes need no database credentials. The store stays the
progress record: a retried task writes once, and a re-run driver lists only what is missing.
Ray is imported only here and only when ``--ray`` is given.
"""
