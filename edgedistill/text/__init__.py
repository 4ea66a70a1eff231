"""Torch-free tokenization from a bundle's tokenizer.json."""
