"""WASI support: unmodified `wasi_snapshot_preview1` programs run in cages through 3i.

`preview1` implements the imports by translating each into Linux-numbered system
calls made through the cage's 3i table; Wasmtime's own WASI is never used for cages.
"""
