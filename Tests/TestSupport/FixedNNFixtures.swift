/// Path of a file under `Tests/Fixtures/fixednn/` (FixedNN's golden data and its generator).
public func fixedNNFixturePath(_ name: String) -> String {
    var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    components.removeLast(2)  // TestSupport/FixedNNFixtures.swift
    return components.joined(separator: "/") + "/Fixtures/fixednn/" + name
}
