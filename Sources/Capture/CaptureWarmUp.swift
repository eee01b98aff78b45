internal import CFFmpeg

/// What every recorder sets up on its first segment, set up once ahead of
/// time by the capture fork server (`roomd-capture forkserver`): the AAC
/// encoder's static tables, the MP4 muxer's lookup, OpenSSL's SHA-256
/// provider, the still encoder's (MJPEG, swscale) tables. Helpers forked afterwards share these pages copy-on-write
/// instead of building a copy each.
public enum CaptureWarmUp {
    public static func run() {
        // As in every recorder: FFmpeg's statistics ("[aac @ …] Qavg") are not for the journal.
        av_log_set_level(AV_LOG_ERROR)
        _ = try? AudioEncoder()
        _ = av_guess_format("mp4", nil, nil)
        _ = avcodec_find_decoder(AV_CODEC_ID_MJPEG)
        _ = SHA256Stream().finish()
        _ = try? StillEncoder(width: 16, height: 16, layout: .yuyv)
    }
}
