"""Comment text analysis without Django: language, normalisation, discovery, assignment, impact.

Everything here is plain Python (plus simplemma, PyStemmer, numpy and scikit-learn), works
offline and is tested without a database. kaiku.themes wires it to the models.
"""
