// DeliveryBench FILE ENDPOINT BUCKET KEY PART_SIZE PARTS_IN_FLIGHT
// Uploads FILE with S3Uploader (credentials from AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY) and prints {"seconds": …, "bytes": …} (scripts/bench-delivery).
import Delivery
import Foundation
import Identity

let arguments = CommandLine.arguments
guard arguments.count == 7, let partSize = Int64(arguments[5]), let inFlight = Int(arguments[6]) else {
    FileHandle.standardError.write(Data("usage: DeliveryBench FILE ENDPOINT BUCKET KEY PART_SIZE PARTS_IN_FLIGHT\n".utf8))
    exit(2)
}
let path = arguments[1]
let environment = ProcessInfo.processInfo.environment
let size = Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0)
let sha256 = try SHA256Hasher.file(path)  // known before an upload starts (sealed package); not timed

/// Reads on a dedicated thread, never the concurrency pool (as roomd's runBlocking does).
let readQueue = DispatchQueue(label: "bench.read")
let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
let handleBox = UnsafeSendable(handle)
let source = UploadSource(size: size, sha256: sha256) { offset, count in
    try await withCheckedThrowingContinuation { continuation in
        readQueue.async {
            do {
                try handleBox.value.seek(toOffset: UInt64(offset))
                let data = try handleBox.value.read(upToCount: count) ?? Data()
                continuation.resume(returning: [UInt8](data))
            } catch { continuation.resume(throwing: error) }
        }
    }
}

struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

let configuration = S3Configuration(
    endpoint: URL(string: arguments[2])!, region: "us-east-1", bucket: arguments[3],
    credentials: S3Credentials(accessKeyID: environment["AWS_ACCESS_KEY_ID"] ?? "bench", secretAccessKey: environment["AWS_SECRET_ACCESS_KEY"] ?? "bench"),
    partsInFlight: inFlight)
let uploader = try S3Uploader(configuration: configuration)
let start = ContinuousClock.now
do {
    _ = try await uploader.upload(name: arguments[4], source: source, state: S3Uploader.initialState(size: size, partSize: partSize),
                                  persist: { _ in }, progress: { _, _ in })
} catch {
    try? await uploader.shutdown()
    FileHandle.standardError.write(Data("\(error)\n".utf8))
    exit(1)
}
let elapsed = ContinuousClock.now - start
try await uploader.shutdown()
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
print("{\"seconds\": \(seconds), \"bytes\": \(size)}")
