print("bench-sim: not yet")
