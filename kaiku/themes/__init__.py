"""Comment themes: discovery, a per-workspace taxonomy, assignment and impact on NPS.

The text work (languages, normalisation, log-odds, NMF topics, the keyword matcher and
the impact statistics) lives in kaiku.themes.text without Django; this app adds the
models, the actions that change a taxonomy, the background jobs and the pages.
"""
