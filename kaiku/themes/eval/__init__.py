"""The labelled evaluation set for theme assignment (see docs/themes.md, "Evaluation")."""
