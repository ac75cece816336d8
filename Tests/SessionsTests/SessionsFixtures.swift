@testable import H2OTrainer

/// Hidden 8, discriminators 16, batch 8: a learner small enough for the session tests.
func smallHyperparameters() -> Hyperparameters {
    var h = Hyperparameters.robot
    (h.hiddenSize, h.discriminatorHiddenSize, h.batchSize, h.cqlNoisyCopies) = (8, 16, 8, 3)
    return h
}
