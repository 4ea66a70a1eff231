"""The run report: one HTML page with matplotlib plots of every candidate of every export (no torch).

records.py reads the export reports, lengths.py times kept bundles by input length, plots.py draws,
page.py writes the HTML, and writer.py puts them together for `edgedistill report`.
"""
