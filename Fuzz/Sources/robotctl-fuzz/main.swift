// robotctl-fuzz READER [libFuzzer options] [CORPUS_DIR…]
//
// READER is one of safetensors, policy, numpy, calibration, robotconfig, dataset. The rest
// of the command line goes to libFuzzer (LLVMFuzzerRunDriver), e.g. `-max_total_time=30`.
import Foundation

/// libFuzzer's entry point for programs that keep their own `main` (libclang_rt.fuzzer_no_main).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The reader chosen on the command line (set before libFuzzer starts, read-only after).
nonisolated(unsafe) var selected = Reader.safetensors

let arguments = CommandLine.arguments
guard arguments.count >= 2, let reader = Reader(rawValue: arguments[1]) else {
    let names = Reader.allCases.map(\.rawValue).joined(separator: ", ")
    FileHandle.standardError.write(
        Data("usage: robotctl-fuzz READER [libFuzzer options] [CORPUS_DIR...]; READER is one of \(names)\n".utf8))
    exit(2)
}
selected = reader
// libFuzzer sees the program name and everything after READER.
var argc = CommandLine.argc - 1
var argv = CommandLine.unsafeArgv
argv[1] = argv[0]
var shifted = argv + 1
exit(LLVMFuzzerRunDriver(&argc, &shifted) { data, count in
    let bytes = count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count))
    selected.run(bytes)
    return 0
})
