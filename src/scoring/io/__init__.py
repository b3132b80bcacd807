"""The edges where files are read and written: run folders, JSON, hashes, links."""
