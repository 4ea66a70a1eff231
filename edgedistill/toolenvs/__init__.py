"""Isolated tool environments: built once per machine, cached by a key of their pins, run as subprocesses."""
