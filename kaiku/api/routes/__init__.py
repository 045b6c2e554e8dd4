"""One ninja router per resource; views parse, call one action and serialise."""
