import Delivery
import Foundation
import Testing

@Suite struct UploadStateTests {
    @Test func confirmedBytesAreTheSumOfConfirmedParts() throws {
        let state = UploadState(uploadID: "u", partSize: 8, parts: [.init(number: 1, size: 8, sha256: "a"), .init(number: 2, size: 3, sha256: "b")])
        #expect(state.bytesConfirmed == 11)
        let decoded = try JSONDecoder().decode(UploadState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }
}
