"""The reports: the view of a run (view.py), its messages in each language, and one renderer per format."""

# Here rather than in messages.py, so that the command line offers --lang without loading the catalogues.
LANGUAGES = ("en", "da")
