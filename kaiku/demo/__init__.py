"""`kaiku demo`: a realistic, deterministic demo workspace (no models of its own)."""
