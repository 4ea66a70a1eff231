"""Export targets, one sub-package per runtime, behind one `Target` interface."""
