/// FixedNN: fixed-size, allocation-free neural networks (filled in by the FixedNN work).
public enum FixedNNModule {}
