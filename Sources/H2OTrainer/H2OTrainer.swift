/// H2OTrainer: replay, H2O+ and baselines, onboard simulator.
public enum H2OTrainerModule {}
