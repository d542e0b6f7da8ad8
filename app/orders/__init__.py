"""Order use cases: placing, the pipeline steps, the restaurant's moves."""
