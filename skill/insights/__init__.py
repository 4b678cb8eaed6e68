"""The readers of history: `measure` (does the score rank outcomes), `calibrate` (fit
points to them) and `report` (the weekly portfolio view). They read the store and
the engine's published models; nothing here changes a decision."""
