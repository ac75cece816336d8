import FixedNN

/// Reading `StepInputs` from the `.npz` files of `robotctl train verify-step` (README,
/// "H2OTrainer: files").
///
/// Batch file: `real_{observations,actions,rewards,next_observations,terminals}` (the rows at
/// full weight), `sim_{…}` (the discriminator-weighted rows; absent for SAC/IQL) and
/// `disc_real_{observations,actions,next_observations}`, `disc_sim_{…}`.
/// Noise file (standard normals): `policy_noise` [B, A], `next_policy_noise` [B, A],
/// `disc_real_noise` and `disc_sim_noise` [Bd, 2S+A] in (s, a, s') order, and for H2O
/// `next_state_noise` [Ns, K, S].
extension StepInputs {
    /// Loads a batch and a noise file for `algorithm` with sizes S, A.
    public static func load(
        batch batchPath: String, noise noisePath: String, algorithm: Algorithm, observationSize S: Int, actionSize A: Int
    ) throws -> StepInputs {
        func read(_ path: String) throws -> [String: NumpyArray] {
            do { return try NumpyArchive.readNPZ(path: path) } catch let e as NumpyArchiveError {
                throw TrainerError.invalidDataset(path: path, problem: "\(e)")
            }
        }
        let batch = try read(batchPath), noise = try read(noisePath)
        func get(_ arrays: [String: NumpyArray], _ path: String, _ key: String, _ shape: [Int]) throws -> [Float] {
            guard let a = arrays[key] else {
                throw TrainerError.invalidDataset(path: path, problem: "no '\(key)' array; see README (H2OTrainer files) for the keys verify-step reads")
            }
            guard a.count == shape.reduce(1, *), a.shape.reduce(1, *) == a.count,
                a.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 })
            else {
                throw TrainerError.invalidDataset(path: path, problem: "'\(key)' has shape \(a.shape) but \(shape) is needed (S=\(S), A=\(A))")
            }
            let v = a.floats()
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw TrainerError.invalidDataset(path: path, problem: "'\(key)' element \(bad) is \(v[bad]); inputs must be finite")
            }
            return v
        }
        func rowsOf(_ key: String) -> Int { batch[key]?.shape.first ?? 0 }
        let Nr = rowsOf("real_observations")
        let Ns = rowsOf("sim_observations")
        let Nd = rowsOf("disc_real_observations")
        let K = noise["next_state_noise"].map { $0.shape.count == 3 ? $0.shape[1] : 0 } ?? 0
        if algorithm == .h2o && K == 0 {
            throw TrainerError.invalidDataset(path: noisePath, problem: "h2o needs 'next_state_noise' of shape [Ns, K, S] (K noisy next-state copies per sim row)")
        }
        guard Nr + Ns > 0 else {
            throw TrainerError.invalidDataset(path: batchPath, problem: "the batch is empty (no real_observations or sim_observations rows)")
        }
        let inputs = StepInputs(
            algorithm: algorithm, observationSize: S, actionSize: A, realRows: Nr, simRows: Ns,
            discriminatorRows: (algorithm == .h2oPlus || algorithm == .h2o) ? Nd : 0,
            noisyCopies: algorithm == .h2o ? K : 0)
        func copy(_ values: [Float], to p: UnsafeMutablePointer<Float>) {
            for (i, v) in values.enumerated() { p[i] = v }
        }
        for (prefix, n, row) in [("real", Nr, 0), ("sim", Ns, Nr)] where n > 0 {
            copy(try get(batch, batchPath, "\(prefix)_observations", [n, S]), to: inputs.rl.observations + row * S)
            copy(try get(batch, batchPath, "\(prefix)_actions", [n, A]), to: inputs.rl.actions + row * A)
            copy(try get(batch, batchPath, "\(prefix)_rewards", [n]), to: inputs.rl.rewards + row)
            copy(try get(batch, batchPath, "\(prefix)_next_observations", [n, S]), to: inputs.rl.nextObservations + row * S)
            copy(try get(batch, batchPath, "\(prefix)_terminals", [n]), to: inputs.rl.terminals + row)
        }
        let B = Nr + Ns
        copy(try get(noise, noisePath, "policy_noise", [B, A]), to: inputs.policyNoise.baseAddress)
        copy(try get(noise, noisePath, "next_policy_noise", [B, A]), to: inputs.nextPolicyNoise.baseAddress)
        if inputs.discriminatorRows > 0 {
            for (prefix, target) in [("disc_real", 0), ("disc_sim", 1)] {
                let o = try get(batch, batchPath, "\(prefix)_observations", [Nd, S])
                let a = try get(batch, batchPath, "\(prefix)_actions", [Nd, A])
                let nx = try get(batch, batchPath, "\(prefix)_next_observations", [Nd, S])
                let e = try get(noise, noisePath, "\(prefix)_noise", [Nd, 2 * S + A])
                if target == 0 {
                    copy(o, to: inputs.discriminatorReal.observations)
                    copy(a, to: inputs.discriminatorReal.actions)
                    copy(nx, to: inputs.discriminatorReal.nextObservations)
                    copy(e, to: inputs.discriminatorRealNoise.baseAddress)
                } else {
                    copy(o, to: inputs.discriminatorSim.observations)
                    copy(a, to: inputs.discriminatorSim.actions)
                    copy(nx, to: inputs.discriminatorSim.nextObservations)
                    copy(e, to: inputs.discriminatorSimNoise.baseAddress)
                }
            }
        }
        if inputs.noisyCopies > 0 {
            copy(try get(noise, noisePath, "next_state_noise", [Ns, K, S]), to: inputs.nextStateNoise.baseAddress)
        }
        return inputs
    }
}
