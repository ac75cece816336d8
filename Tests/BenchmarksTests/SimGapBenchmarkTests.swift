import Control
import FixedNN
import Foundation
import Testing

@testable import Benchmarks
import H2OTrainer
import Tasks

/// A tiny gap benchmark: every method, two seeds, two epochs of 20 updates.
private func tinyOptions(task: GapTaskName = .pendulum, gap: String = "friction") -> GapBenchmark.Options {
    var o = GapBenchmark.Options()
    o.task = task
    o.gap = gap
    o.seeds = [1, 2]
    o.matchedSim = true
    o.budgetUpdates = 40
    o.evaluateEveryUpdates = 20
    o.evaluationEpisodes = 1
    o.realEpisodes = 2
    o.behaviourUpdates = 40
    o.hyperparameters.updatesPerEpoch = 20
    o.hyperparameters.simStepsPerEpoch = 50
    var grid = PendulumCeiling.Options()
    grid.angleCells = 31
    grid.speedCells = 31
    grid.actions = 5
    o.ceiling = grid
    return o
}

@Suite("Dynamics-gap benchmark")
struct SimGapBenchmarkTests {
    @Test("runs every method on the real plant, with learning curves, reference rows, CSV, SVG and table")
    func tinyRun() throws {
        var lines: [String] = []
        let r = try GapBenchmark.run(tinyOptions()) { lines.append($0) }
        let methods = ["h2o+", "h2o", "sac-sim", "iql-real", "sac-matched-sim"]
        // Points at 0, 20 and 40 updates per method × seed.
        #expect(r.curves.count == methods.count * 2 * 3)
        #expect(r.finals.count == methods.count * 2)
        #expect(r.finals.allSatisfy { $0.updates == 40 && $0.realReturn.isFinite && $0.simReturn.isFinite })
        #expect(Array(Set(r.curves.map(\.updates))).sorted() == [0, 20, 40])
        #expect(r.references.map(\.name) == ["scripted swing-up controller", "zero action", "real data episodes (medium-replay)"])
        // The scripted controller swings up; doing nothing hangs (about -1960).
        #expect(r.references[0].realReturn > r.references[1].realReturn + 500)
        #expect(r.realData.kind == .mediumReplay && r.realData.episodes == 2)
        #expect(r.plantAssignments == ["coulomb=0.3", "damping=0.15"])
        #expect(lines.count == 4 + methods.count * 2)  // 3 references, the ceiling, one per run

        let csv = GapReport.csv(r).split(separator: "\n")
        #expect(csv.first == "task,gap,method,seed,updates,sim_steps,real_return,sim_return,seconds,sim_weight_mean,alpha")
        // Sim weights are measured where discriminators exist and stay in [1e-5, 1].
        let h2oPlus = r.curves.filter { $0.method == "h2o+" && $0.updates > 0 }
        #expect(h2oPlus.allSatisfy { $0.simWeightMean >= 1e-5 && $0.simWeightMean <= 1 && $0.alpha > 0 })
        #expect(csv.count == 1 + r.curves.count + r.references.count + r.ceilings.count)
        #expect(r.ceilings.count == 1 && r.ceilings[0].realReturn > r.references[1].realReturn + 300)
        // Row names carry no commas: every row has the header's 11 fields.
        #expect(csv.allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == 11 })
        #expect(csv.dropFirst().allSatisfy { $0.hasPrefix("pendulum,friction,") })

        let svg = GapReport.svg(r)
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        for m in methods { #expect(svg.contains(">\(m)<")) }
        #expect(svg.contains("<polygon"))  // spread bands

        let md = GapReport.markdown(r, command: "robotctl bench gap --tiny", date: "2026-01-01T00:00:00Z")
        #expect(md.contains("`robotctl bench gap --tiny`") && md.contains("2026-01-01T00:00:00Z"))
        #expect(md.contains("| method | seeds | score [95 % CI] | normalised [95 % CI] |"))
        for s in GapReport.scores(r) {
            #expect(md.contains("| \(s.method) | 2 | \(GapReport.f1(s.mean)) ["))
        }
        #expect(md.contains("| ceiling: dynamic programming on the real plant (31×31 grid; 5 actions"))
        #expect(md.contains("| h2o+ | sac-sim |") && md.contains("(exact, 6)"))
        #expect(md.contains("| reference: scripted swing-up controller | – |"))
        #expect(md.contains("| reference: zero action | – |"))
    }

    @Test("runs the cart-pole with a medium dataset and no scripted controller row")
    func cartpole() throws {
        var o = tinyOptions(task: .cartpole, gap: "pole")
        o.algorithms = [.h2oPlus]
        o.matchedSim = false
        o.seeds = [3]
        o.realData = .medium
        let r = try GapBenchmark.run(o)
        #expect(r.references.map(\.name) == ["zero action", "real data episodes (medium)"])
        #expect(r.finals.map(\.method) == ["h2o+"] && r.finals[0].realReturn.isFinite)
        #expect(r.plantAssignments == ["length=1.5", "mass=0.3"])
    }

    @Test("rejects an unknown gap, teleop data without an operator and bad sim assignments before training")
    func badInputs() {
        var o = tinyOptions(gap: "wind")
        #expect(throws: SimError.self) { _ = try GapBenchmark.run(o) }
        do {
            _ = try GapBenchmark.run(o)
        } catch {
            #expect("\(error)".contains("--gap wind") && "\(error)".contains("friction, actuator-gain"))
        }
        o = tinyOptions(task: .cartpole, gap: "none")
        o.realData = .teleop
        #expect(throws: SimError.self) { _ = try GapBenchmark.run(o) }
        o = tinyOptions()
        o.simAssignments = ["gravity=-3"]
        #expect(throws: SimError.self) { _ = try GapBenchmark.run(o) }
    }

    @Test("every named gap sets known real plant parameters and its matched sim assignments apply")
    func catalogue() throws {
        let known = Set(RealPlant.parameterNames.map(\.name))
        for task in GapTaskName.allCases {
            #expect(task.gaps.first?.name == "none")
            for gap in task.gaps {
                #expect(Set(gap.plant.keys).isSubset(of: known), "\(task) \(gap.name)")
                _ = try RealPlant(kind: task == .pendulum ? .pendulum : .cartpole, parameters: gap.plant, seed: 1)
                switch task {
                case .pendulum:
                    var p = task.pendulumTask.parameters
                    try p.apply(assignments: gap.simMatch)
                case .cartpole:
                    var p = task.cartPoleTask.parameters
                    try p.apply(assignments: gap.simMatch)
                }
            }
        }
        #expect(GapTaskName.pendulum.gap(named: "actuator-gain")?.plant == ["actuator_gain": 0.6])
    }

    @Test("medium and medium-replay datasets are written in the dataset format with their policy versions")
    func behaviourDatasets() throws {
        let task = GapTaskName.pendulum.pendulumTask
        for kind in [RealDataKind.medium, .mediumReplay] {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gap-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var d = GapRealData.Options()
            d.kind = kind
            d.episodes = 3
            d.behaviourUpdates = 30
            var h = Hyperparameters.robot
            h.gamma = task.discount
            let s = try GapRealData.recordBehaviour(
                simTask: task, realTask: task,
                schema: GapRealData.schema(task: .pendulum, controlPeriod: task.controlPeriod, source: kind.rawValue),
                hyperparameters: h, directory: dir, options: d)
            #expect(s.episodes == 3 && s.records == 3 * (task.episodeTicks + 1))
            let reader = try DatasetReader(directory: dir)
            #expect(reader.schema.source == kind.rawValue)
            let a = reader.d4rlArrays()
            #expect(a.count == 3 * task.episodeTicks && a.timeouts.filter { $0 }.count == 3)
            let versions = Array(Set(a.policyVersions)).sorted()
            #expect(versions == (kind == .medium ? [3] : [1, 2, 3]))
            #expect(abs(Double(a.rewards.reduce(0, +)) / 3 - s.meanReturn) < 1e-3 * abs(s.meanReturn))
        }
    }

    @Test("summary statistics: mean, sample std, min and max")
    func stats() {
        let s = GapReport.Stats([1, 2, 3, 4])
        #expect(s.count == 4 && s.mean == 2.5 && s.min == 1 && s.max == 4)
        #expect(abs(s.std - 1.2909944487358056) < 1e-12)
        #expect(GapReport.Stats([5]).std == 0)
        #expect(GapReport.number(0.6) == "0.6" && GapReport.number(16) == "16" && GapReport.number(1e-5) == "1e-05")
    }
}

@Suite("Simulator random stream")
struct SimRandomStreamTests {
    @Test("SimRandom draws FixedNN's xoshiro256** stream (splitmix64 seeding) unchanged")
    func sameStream() {
        // An independent xoshiro256** with splitmix64 seeding (Vigna's reference algorithm).
        var x: UInt64 = 42
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var s = (splitmix(), splitmix(), splitmix(), splitmix())
        func rotl(_ v: UInt64, _ k: UInt64) -> UInt64 { (v << k) | (v >> (64 - k)) }
        var random = SimRandom(seed: 42)
        var fixed = SeededRandom(seed: 42)
        for _ in 0..<16 {
            let expected = rotl(s.1 &* 5, 7) &* 9
            let t = s.1 << 17
            s.2 ^= s.0
            s.3 ^= s.1
            s.1 ^= s.2
            s.0 ^= s.3
            s.2 ^= t
            s.3 = rotl(s.3, 45)
            #expect(random.next() == expected)
            #expect(fixed.next() == expected)
        }
    }
}
