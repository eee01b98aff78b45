/// Devices → encoded packets → segment files. See docs/architecture.md.
public enum CaptureModule {}
