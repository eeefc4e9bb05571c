"""newsevents models: everything from an article's text to its typed records, without Beam.

Text preparation (cleaning, sentences, chunks, words), the Beam model handlers (usable on
their own), decoding, place, time and actor rules, article assembly, training and
evaluation. Imports only ``newsevents.schemas`` of the project.
"""

__all__: list[str] = []
