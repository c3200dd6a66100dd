"""Steps 7 and 8: the result of one grading (one dataclass, serialised to JSON), where its
time went, and how the terminal shows it with candidate text made safe."""
