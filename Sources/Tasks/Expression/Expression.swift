#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A small arithmetic expression language for task files (rewards, termination, targets),
/// parsed once at load and evaluated allocation-free on the control and trainer threads.
///
/// Grammar (usual precedence, left-associative except `^`):
/// ```
/// expr    := or
/// or      := and ('||' and)*
/// and     := compare ('&&' compare)*
/// compare := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
/// sum     := product (('+' | '-') product)*
/// product := unary (('*' | '/') unary)*
/// unary   := ('-' | '+' | '!') unary | power
/// power   := primary ('^' unary)?
/// primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
/// ```
/// Comparisons and logic give 1 or 0; `!x` is 1 when x is 0. Names are the variables given to
/// `init` (features, actions, parameters) and the constants `pi` and `e`. Functions: `sin cos
/// tan tanh exp log sqrt abs sign square` (one argument), `wrap` (an angle to [−π, π)), `min max
/// atan2 pow` (two), `clip(x, lo, hi)` (three). A division whose divisor is constant zero, a
/// `sqrt`/`log` of a negative constant, an unknown name or function, a wrong argument count and
/// any syntax error are one-line `ExpressionError`s naming the position.
///
/// Thread contract: an immutable value; `evaluate` is real-time safe: it does not allocate,
/// lock or throw (a division by a variable that is zero gives ±inf, as IEEE 754 does).
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    /// The source text.
    public let source: String
    /// The variable names, in the order `evaluate` reads them.
    public let variables: [String]
    /// Postfix program over a value stack.
    let program: [Instruction]
    /// Deepest stack the program reaches (≤ `maxStack`).
    let stackDepth: Int
    /// Indices of the variables the expression reads.
    public let usedVariables: Set<Int>

    /// Deepest expression nesting evaluated on the fixed stack.
    public static let maxStack = 32

    public var description: String { source }

    enum Instruction: Sendable, Hashable {
        case constant(Double)
        case variable(Int)
        case unary(UnaryOp)
        case binary(BinaryOp)
        case clip
    }

    enum UnaryOp: String, Sendable, Hashable, CaseIterable {
        case negate, not, sin, cos, tan, tanh, exp, log, sqrt, abs, sign, square, wrap
    }

    enum BinaryOp: String, Sendable, Hashable {
        case add, subtract, multiply, divide, power, min, max, atan2
        case less, lessEqual, greater, greaterEqual, equal, notEqual, and, or
    }

    /// Parses `source` over `variables`. Throws a one-line `ExpressionError`.
    public init(_ source: String, variables: [String]) throws(ExpressionError) {
        self.source = source
        self.variables = variables
        var parser = ExpressionParser(source: source, variables: variables)
        let tree = try parser.parseAll()
        var program: [Instruction] = []
        var used = Set<Int>()
        let depth = try Self.emit(tree, into: &program, used: &used, source: source)
        guard depth <= Self.maxStack else {
            throw ExpressionError(source: source, position: 0, problem: "nests deeper than \(Self.maxStack) levels; split it into named terms")
        }
        self.program = program
        self.stackDepth = depth
        self.usedVariables = used
    }

    /// Emits postfix code for `node`; returns the stack depth it needs.
    private static func emit(_ node: ExpressionNode, into program: inout [Instruction], used: inout Set<Int>, source: String) throws(ExpressionError) -> Int {
        switch node.kind {
        case .constant(let v):
            program.append(.constant(v))
            return 1
        case .variable(let i):
            used.insert(i)
            program.append(.variable(i))
            return 1
        case .unary(let op, let a):
            let d = try emit(a, into: &program, used: &used, source: source)
            program.append(.unary(op))
            return d
        case .binary(let op, let a, let b):
            let da = try emit(a, into: &program, used: &used, source: source)
            let db = try emit(b, into: &program, used: &used, source: source)
            program.append(.binary(op))
            return max(da, db + 1)
        case .clip(let x, let lo, let hi):
            let d1 = try emit(x, into: &program, used: &used, source: source)
            let d2 = try emit(lo, into: &program, used: &used, source: source)
            let d3 = try emit(hi, into: &program, used: &used, source: source)
            program.append(.clip)
            return max(d1, d2 + 1, d3 + 2)
        }
    }

    /// The value with `values[i]` bound to `variables[i]`.
    /// Real-time safe: does not allocate, lock or throw.
    @inline(__always)
    public func evaluate(_ values: UnsafePointer<Double>) -> Double {
        var stack = InlineArray<32, Double>(repeating: 0)
        var top = -1
        for instruction in program {
            switch instruction {
            case .constant(let v):
                top += 1
                stack[top] = v
            case .variable(let i):
                top += 1
                stack[top] = values[i]
            case .unary(let op):
                stack[top] = Self.apply(op, stack[top])
            case .binary(let op):
                let b = stack[top]
                top -= 1
                stack[top] = Self.apply(op, stack[top], b)
            case .clip:
                let hi = stack[top], lo = stack[top - 1]
                top -= 2
                stack[top] = min(max(stack[top], lo), hi)
            }
        }
        return top == 0 ? stack[0] : .nan
    }

    @inline(__always)
    static func apply(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .negate: return -x
        case .not: return x == 0 ? 1 : 0
        case .sin: return sin(x)
        case .cos: return cos(x)
        case .tan: return tan(x)
        case .tanh: return tanh(x)
        case .exp: return exp(x)
        case .log: return log(x)
        case .sqrt: return x.squareRoot()
        case .abs: return Swift.abs(x)
        case .sign: return x > 0 ? 1 : x < 0 ? -1 : 0
        case .square: return x * x
        case .wrap: return wrapAngle(x)
        }
    }

    @inline(__always)
    static func apply(_ op: BinaryOp, _ a: Double, _ b: Double) -> Double {
        switch op {
        case .add: return a + b
        case .subtract: return a - b
        case .multiply: return a * b
        case .divide: return a / b
        case .power: return pow(a, b)
        case .min: return Swift.min(a, b)
        case .max: return Swift.max(a, b)
        case .atan2: return atan2(a, b)
        case .less: return a < b ? 1 : 0
        case .lessEqual: return a <= b ? 1 : 0
        case .greater: return a > b ? 1 : 0
        case .greaterEqual: return a >= b ? 1 : 0
        case .equal: return a == b ? 1 : 0
        case .notEqual: return a != b ? 1 : 0
        case .and: return a != 0 && b != 0 ? 1 : 0
        case .or: return a != 0 || b != 0 ? 1 : 0
        }
    }
}

/// An angle wrapped to [−π, π) (numpy's `((x + π) % 2π) − π`).
/// Real-time safe: does not allocate, lock or throw.
@inline(__always)
public func wrapAngle(_ x: Double) -> Double {
    let twoPi = 2 * Double.pi
    var r = (x + Double.pi).truncatingRemainder(dividingBy: twoPi)
    if r < 0 { r += twoPi }
    return r - Double.pi
}

/// An expression that does not parse or cannot be evaluated, in one line:
/// `"reward: 'x / 0' at 5: divides by zero; …"`.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    public let source: String
    /// Character offset of the problem in `source`.
    public let position: Int
    public let problem: String
    public var description: String { "'\(source)' at character \(position + 1): \(problem)" }
}

/// A parsed expression tree (folded constants), before code generation.
struct ExpressionNode {
    indirect enum Kind {
        case constant(Double)
        case variable(Int)
        case unary(Expression.UnaryOp, ExpressionNode)
        case binary(Expression.BinaryOp, ExpressionNode, ExpressionNode)
        case clip(ExpressionNode, ExpressionNode, ExpressionNode)
    }
    var kind: Kind
    var position: Int

    var constantValue: Double? {
        if case .constant(let v) = kind { return v }
        return nil
    }
}

/// Recursive-descent parser with constant folding.
struct ExpressionParser {
    let source: String
    let chars: [Character]
    let variables: [String]
    var index = 0

    init(source: String, variables: [String]) {
        self.source = source
        self.chars = Array(source)
        self.variables = variables
    }

    func fail(_ problem: String, at position: Int? = nil) -> ExpressionError {
        ExpressionError(source: source, position: position ?? index, problem: problem)
    }

    mutating func parseAll() throws(ExpressionError) -> ExpressionNode {
        skipSpace()
        guard index < chars.count else { throw fail("is empty; write an expression such as 'theta_dot^2'") }
        let node = try parseOr()
        skipSpace()
        guard index == chars.count else { throw fail("unexpected '\(chars[index])'") }
        return node
    }

    mutating func skipSpace() {
        while index < chars.count, chars[index].isWhitespace { index += 1 }
    }

    /// Consumes `token` (after spaces) if it is next.
    mutating func accept(_ token: String) -> Bool {
        skipSpace()
        let t = Array(token)
        guard index + t.count <= chars.count, Array(chars[index..<index + t.count]) == t else { return false }
        // `<` must not eat the start of `<=`, `!` not the start of `!=`.
        if t.count == 1, index + 1 < chars.count, chars[index + 1] == "=", "<>!=".contains(t[0]) { return false }
        if t == ["&"] || t == ["|"] { return false }
        index += t.count
        return true
    }

    mutating func parseOr() throws(ExpressionError) -> ExpressionNode {
        var lhs = try parseAnd()
        while true {
            let at = index
            guard accept("||") else { return lhs }
            lhs = fold(.binary(.or, lhs, try parseAnd()), at)
        }
    }

    mutating func parseAnd() throws(ExpressionError) -> ExpressionNode {
        var lhs = try parseCompare()
        while true {
            let at = index
            guard accept("&&") else { return lhs }
            lhs = fold(.binary(.and, lhs, try parseCompare()), at)
        }
    }

    mutating func parseCompare() throws(ExpressionError) -> ExpressionNode {
        let lhs = try parseSum()
        let at = index
        let ops: [(String, Expression.BinaryOp)] = [
            ("<=", .lessEqual), (">=", .greaterEqual), ("==", .equal), ("!=", .notEqual), ("<", .less), (">", .greater),
        ]
        for (token, op) in ops where accept(token) {
            return fold(.binary(op, lhs, try parseSum()), at)
        }
        return lhs
    }

    mutating func parseSum() throws(ExpressionError) -> ExpressionNode {
        var lhs = try parseProduct()
        while true {
            let at = index
            if accept("+") {
                lhs = fold(.binary(.add, lhs, try parseProduct()), at)
            } else if accept("-") {
                lhs = fold(.binary(.subtract, lhs, try parseProduct()), at)
            } else {
                return lhs
            }
        }
    }

    mutating func parseProduct() throws(ExpressionError) -> ExpressionNode {
        var lhs = try parseUnary()
        while true {
            let at = index
            if accept("*") {
                lhs = fold(.binary(.multiply, lhs, try parseUnary()), at)
            } else if accept("/") {
                let rhs = try parseUnary()
                if rhs.constantValue == 0 {
                    throw fail("divides by zero (the divisor is the constant 0); fix the divisor", at: at)
                }
                lhs = fold(.binary(.divide, lhs, rhs), at)
            } else {
                return lhs
            }
        }
    }

    mutating func parseUnary() throws(ExpressionError) -> ExpressionNode {
        let at = index
        if accept("-") { return fold(.unary(.negate, try parseUnary()), at) }
        if accept("+") { return try parseUnary() }
        if accept("!") { return fold(.unary(.not, try parseUnary()), at) }
        return try parsePower()
    }

    mutating func parsePower() throws(ExpressionError) -> ExpressionNode {
        let base = try parsePrimary()
        let at = index
        if accept("^") { return fold(.binary(.power, base, try parseUnary()), at) }
        return base
    }

    mutating func parsePrimary() throws(ExpressionError) -> ExpressionNode {
        skipSpace()
        let at = index
        guard index < chars.count else { throw fail("ends where a number, name or '(' was expected") }
        let c = chars[index]
        if c == "(" {
            index += 1
            let inner = try parseOr()
            guard accept(")") else { throw fail("'(' at character \(at + 1) is not closed; add ')'") }
            return inner
        }
        if c.isNumber || c == "." { return try parseNumber() }
        if c.isLetter || c == "_" {
            var name = ""
            while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" || chars[index] == "." {
                name.append(chars[index])
                index += 1
            }
            if accept("(") { return try parseCall(name, at: at) }
            if let i = variables.firstIndex(of: name) { return ExpressionNode(kind: .variable(i), position: at) }
            if name == "pi" { return ExpressionNode(kind: .constant(Double.pi), position: at) }
            if name == "e" { return ExpressionNode(kind: .constant(M_E), position: at) }
            let known = variables.isEmpty ? "none" : variables.joined(separator: ", ")
            throw fail("unknown name '\(name)'; known names: \(known), pi, e", at: at)
        }
        throw fail("unexpected '\(c)'")
    }

    mutating func parseNumber() throws(ExpressionError) -> ExpressionNode {
        let at = index
        var text = ""
        while index < chars.count, chars[index].isNumber || chars[index] == "." { text.append(chars[index]); index += 1 }
        if index < chars.count, chars[index] == "e" || chars[index] == "E" {
            var look = index + 1
            if look < chars.count, chars[look] == "+" || chars[look] == "-" { look += 1 }
            if look < chars.count, chars[look].isNumber {
                text.append(contentsOf: chars[index..<look])
                index = look
                while index < chars.count, chars[index].isNumber { text.append(chars[index]); index += 1 }
            }
        }
        guard let v = Double(text), v.isFinite else { throw fail("'\(text)' is not a finite number", at: at) }
        return ExpressionNode(kind: .constant(v), position: at)
    }

    static let unaryFunctions: [String: Expression.UnaryOp] = [
        "sin": .sin, "cos": .cos, "tan": .tan, "tanh": .tanh, "exp": .exp, "log": .log, "sqrt": .sqrt,
        "abs": .abs, "sign": .sign, "square": .square, "wrap": .wrap,
    ]
    static let binaryFunctions: [String: Expression.BinaryOp] = ["min": .min, "max": .max, "atan2": .atan2, "pow": .power]

    mutating func parseCall(_ name: String, at: Int) throws(ExpressionError) -> ExpressionNode {
        var args: [ExpressionNode] = []
        skipSpace()
        if !accept(")") {
            repeat { args.append(try parseOr()) } while accept(",")
            guard accept(")") else { throw fail("call of '\(name)' is not closed; add ')'") }
        }
        func arity(_ n: Int) throws(ExpressionError) {
            guard args.count == n else {
                throw fail("'\(name)' takes \(n) argument\(n == 1 ? "" : "s"), got \(args.count)", at: at)
            }
        }
        if let op = Self.unaryFunctions[name] {
            try arity(1)
            if let v = args[0].constantValue, (op == .sqrt && v < 0) || (op == .log && v <= 0) {
                throw fail("\(name) of the constant \(v) is not a real number", at: at)
            }
            return fold(.unary(op, args[0]), at)
        }
        if let op = Self.binaryFunctions[name] {
            try arity(2)
            return fold(.binary(op, args[0], args[1]), at)
        }
        if name == "clip" {
            try arity(3)
            if let lo = args[1].constantValue, let hi = args[2].constantValue, lo > hi {
                throw fail("clip's bounds are inverted (\(lo) > \(hi)); swap them", at: at)
            }
            return ExpressionNode(kind: .clip(args[0], args[1], args[2]), position: at)
        }
        let all = (Array(Self.unaryFunctions.keys) + Array(Self.binaryFunctions.keys) + ["clip"]).sorted()
        throw fail("unknown function '\(name)'; functions: \(all.joined(separator: ", "))", at: at)
    }

    /// Folds an operation on constants into a constant.
    func fold(_ kind: ExpressionNode.Kind, _ at: Int) -> ExpressionNode {
        switch kind {
        case .unary(let op, let a):
            if let x = a.constantValue { return ExpressionNode(kind: .constant(Expression.apply(op, x)), position: at) }
        case .binary(let op, let a, let b):
            if let x = a.constantValue, let y = b.constantValue {
                return ExpressionNode(kind: .constant(Expression.apply(op, x, y)), position: at)
            }
        default: break
        }
        return ExpressionNode(kind: kind, position: at)
    }
}
