"""io: files on disk. Atomic writes and hashes (files), reading CSV and Parquet exports in
chunks (tables), the layout of a run folder (runfolder).

May import: core.
"""
