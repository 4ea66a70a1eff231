"""Bundles: one directory per artifact with its tokenizer, labels, golden vectors and a checksummed manifest (no torch)."""
