"""Sweeps: retroactive screening of an existing index (millions of listings) against the loaded lists,
on one machine (multiprocessing) or on a Dask cluster, with checkpoints and incremental re-sweeps."""
