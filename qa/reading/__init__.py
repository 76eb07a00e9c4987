"""Reading articles: a source (file, folder, URL, feed, JSONL/CSV record) in, a clean `Article` with metadata out,
then cut into sentence-aligned chunks with their offsets.

sources.py reads each kind of source (fetching.py: URLs, records.py: JSONL/CSV, limits.py: size limits);
clean.py finds the main text (furniture.py: certain clutter, prose.py: prose vs. lists); metadata.py finds
title, date and author (bylines.py, dates.py); chunking.py splits sentences and chunks; demo.py: the demo corpora.
"""
