"""`edgedistill run`: one recipe through every stage, skipping those whose inputs did not change.

recipe.py reads the typed recipe, stages.py lists the stages and what each one's key hashes, ledger.py records
what each stage last did, and runner.py walks them in order.
"""
