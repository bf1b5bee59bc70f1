"""The built-in check pack, registered under the `auditor.checks` entry-point group like any other pack.

Families and their id prefixes:
    LOG-xxxx   logging and time (audit_logging.py)
"""
