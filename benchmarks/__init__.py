"""Benchmarks: each is a module run from the repository root, `python -m benchmarks.NAME [options]`.

They import `qa` as installed (`make install`: an editable install of this checkout) and each other as
`benchmarks.NAME`, so none edits `sys.path`; every result file records the machine in one shape,
`"machine": benchmarks.common.machine()`. docs/benchmarks.md says what each one measures.
"""
