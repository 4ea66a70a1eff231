"""Turning a student directory into device bundles: the shared export-side pieces (needs torch)."""
