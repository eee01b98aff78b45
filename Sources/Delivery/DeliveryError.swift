import Foundation

/// Why a delivery failed, in words an operator can act on (roomd logs
/// `description`), and whether retrying can help (`errorClass`).
public struct DeliveryError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        /// The server answered with an error: HTTP status and, when it sent an
        /// S3 XML error body, its Code, Message and RequestId.
        case server(status: Int, code: String?, message: String?, requestID: String?)
        /// No answer: connection refused or reset, timeout, DNS.
        case network(String)
        /// The TLS handshake failed (certificate not trusted, wrong host name).
        case tls(String)
        /// The bytes read from the package do not hash to the SHA-256 it was sealed with.
        case sourceMismatch(expected: String, actual: String)
        /// A part the server already holds differs from the same part read now.
        case sourceChanged(part: Int)
        /// The server's answer made no sense (unparsable XML, missing UploadId, wrong size).
        case unexpectedResponse(String)
        /// The settings cannot work (bad endpoint, unreadable CA file, too large an object).
        case configuration(String)
    }

    /// What roomd was doing: `CreateMultipartUpload`, `UploadPart 3`, …
    public var operation: String
    /// The object key concerned (bucket/key).
    public var object: String
    public var reason: Reason

    public init(operation: String, object: String, reason: Reason) {
        self.operation = operation
        self.object = object
        self.reason = reason
    }

    /// The S3 error code, if the server sent one (`SignatureDoesNotMatch`, `SlowDown`, …).
    public var code: String? {
        if case .server(_, let code, _, _) = reason { return code }
        return nil
    }

    public var errorClass: DeliveryErrorClass {
        switch reason {
        case .network: return .retryable
        case .tls, .sourceMismatch, .sourceChanged, .configuration: return .permanent
        case .unexpectedResponse: return .retryable
        case .server(let status, let code, _, _):
            if let code {
                if Self.retryableCodes.contains(code) { return .retryable }
                if Self.permanentCodes.contains(code) { return .permanent }
            }
            if status >= 500 || status == 429 || status == 408 || status == 409 { return .retryable }
            return .permanent
        }
    }

    static let retryableCodes: Set<String> = [
        "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "OperationAborted",
        "Throttling", "ThrottlingException", "RequestLimitExceeded", "BadDigest", "XAmzContentSHA256Mismatch",
        "IncompleteBody", "NoSuchUpload",
    ]
    static let permanentCodes: Set<String> = [
        "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
        "NoSuchBucket", "InvalidArgument", "InvalidBucketName", "InvalidRequest", "EntityTooLarge", "EntityTooSmall",
        "InvalidBucketState", "AccountProblem", "AllAccessDisabled", "RequestTimeTooSkewed", "MethodNotAllowed",
        "InvalidObjectState", "KeyTooLongError", "MalformedXML", "InvalidPart", "InvalidPartOrder",
    ]

    public var description: String {
        let what = "S3 delivery of \(object) failed at \(operation): "
        switch reason {
        case .network(let detail):
            return what + "no answer from the server (\(detail)). roomd retries with backoff; if this lasts, check the network and the endpoint address."
        case .tls(let detail):
            return what + "the TLS handshake failed (\(detail)). Check the endpoint's host name and the CA file in the S3 settings."
        case .sourceMismatch(let expected, let actual):
            return what + "the package read from disk hashes to SHA-256 \(actual), not the \(expected) it was sealed with; nothing was completed on the server. The package file is damaged or was changed: check the disk and re-seal or restore the package."
        case .sourceChanged(let part):
            return what + "part \(part) read from disk now differs from the part the server already holds. The package file changed after the upload started: check the disk; the upload cannot continue."
        case .unexpectedResponse(let detail):
            return what + "the server's answer was not understood (\(detail)). roomd retries; if this lasts, check that the endpoint is an S3-compatible service."
        case .configuration(let detail):
            return what + detail
        case .server(let status, let code, let message, let requestID):
            var text = what + "the server answered HTTP \(status)"
            if let code { text += " \(code)" }
            if let message, !message.isEmpty { text += " (\(message))" }
            if let requestID { text += " [request \(requestID)]" }
            text += ". " + advice(status: status, code: code)
            return text
        }
    }

    private func advice(status: Int, code: String?) -> String {
        switch code {
        case "SignatureDoesNotMatch":
            return "The secret access key is wrong (or the clock is far off): fix the S3 credentials in the configuration; roomd will not retry until then."
        case "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
            return "The access key id or session token is not accepted: fix the S3 credentials in the configuration."
        case "AccessDenied", "AllAccessDisabled", "AccountProblem":
            return "The key may not write this bucket (or Object Lock is not allowed): ask the platform to grant s3:PutObject and s3:PutObjectRetention on the bucket."
        case "NoSuchBucket":
            return "The bucket does not exist: check the bucket name, region and addressing style in the configuration."
        case "RequestTimeTooSkewed":
            return "The room PC's clock is too far from the server's: fix time synchronisation (NTP)."
        case "InvalidArgument", "InvalidRequest", "InvalidBucketState", "InvalidObjectState":
            return "The server refused a setting (for example Object Lock on a bucket without it): check the S3 settings against the bucket's configuration."
        case "BadDigest", "XAmzContentSHA256Mismatch":
            return "The bytes the server received do not match the checksum roomd computed for them: they were damaged in transit. roomd resends the part on the next attempt; if this repeats, check the network path (proxies, middleboxes)."
        case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded":
            return "The server asks to slow down: roomd retries with backoff."
        case "EntityTooLarge", "EntityTooSmall", "InvalidPart", "InvalidPartOrder", "MalformedXML":
            return "The server refused the upload's layout: this is a roomd bug or an incompatible server; report it."
        default:
            if status >= 500 || status == 429 || status == 408 { return "The server is failing or busy: roomd retries with backoff." }
            if status == 403 { return "Access was refused: check the credentials and the bucket policy." }
            return "Retrying will not help: check the S3 settings."
        }
    }
}
