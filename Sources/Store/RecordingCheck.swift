import Foundation
import GRDB
public import RoomConfig
import Glibc

/// Disk against index, read-only (`roomctl recordings check`, and the first
/// step of the start-up pass): which indexed files are present, missing or a
/// different size than their hash covers, and which files on disk no row
/// knows. Changes nothing.
public enum RecordingCheck {
    public typealias Report = RecordingCheckReport
    public typealias Item = RecordingCheckReport.Item

    public static func run(index: SegmentIndex, root: String, listFiles: Bool = true) throws -> Report {
        let (rows, deleted) = try index.writer.read { db in
            (try SegmentIndex.Row.fetchAll(db, sql: "SELECT * FROM segments ORDER BY id"),
             Set(try Int64.fetchAll(db, sql: "SELECT segment_id FROM retention_marks")))
        }
        var byState: [String: Int] = [:]
        var expected = 0, present = 0
        var missing: [Item] = [], mismatches: [Item] = []
        for row in rows {
            byState[row.state.rawValue, default: 0] += 1
            guard !deleted.contains(row.id), row.state != .missing else { continue }
            expected += 1
            var info = stat()
            guard stat(row.path, &info) == 0 else {
                missing.append(Item(segment: row.id, device: row.device, path: row.path, detail: String(cString: strerror(errno))))
                continue
            }
            present += 1
            if row.state != .writing, let bytes = row.bytes, Int64(info.st_size) != bytes {
                mismatches.append(Item(segment: row.id, device: row.device, path: row.path,
                                       detail: "index says \(bytes) bytes (hashed), the file has \(info.st_size)"))
            }
        }
        var notIndexed: [String]?
        if listFiles {
            let known = Set(rows.map(\.path))
            var found: [String] = []
            if let walker = FileManager.default.enumerator(atPath: root) {
                for case let relative as String in walker where relative.hasSuffix(".mp4") {
                    let path = root + "/" + relative
                    if !known.contains(path) { found.append(path) }
                }
            }
            notIndexed = found.sorted()
        }
        let unavailable = expected >= 4 && missing.count * 2 > expected
        return Report(root: root, rows: rows.count, byState: byState, deletedByRetention: deleted.count, indexedWithFiles: expected,
                      present: present, missing: missing, sizeMismatches: mismatches, notIndexed: notIndexed,
                      storageLooksUnavailable: unavailable)
    }
}
