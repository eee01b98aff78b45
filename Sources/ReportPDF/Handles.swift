internal import CPangoCairo

/// A laid-out piece of text: a pango layout (released when the value dies) and where its lines
/// are, in points from the layout's top-left corner.
final class TextBox {
    struct Line {
        /// Top and bottom of the line's logical box, and its baseline.
        var top: Double
        var bottom: Double
        var baseline: Double
        /// Left edge of the line (alignment moves it).
        var x: Double
    }

    let layout: OpaquePointer
    let lines: [Line]

    init(context: OpaquePointer, text: String, font: FontDescription, width: Double,
         alignment: GridTable.Alignment = .leading, justify: Bool = false) {
        layout = pango_layout_new(context)
        pango_layout_set_font_description(layout, font.pointer)
        pango_layout_set_width(layout, Int32((width * Double(PANGO_SCALE)).rounded(.down)))
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        let align: PangoAlignment = switch alignment {
        case .leading: PANGO_ALIGN_LEFT
        case .center: PANGO_ALIGN_CENTER
        case .trailing: PANGO_ALIGN_RIGHT
        }
        pango_layout_set_alignment(layout, align)
        pango_layout_set_justify(layout, justify ? 1 : 0)
        pango_layout_set_text(layout, text, -1)
        var lines: [Line] = []
        let scale = Double(PANGO_SCALE)
        let iterator = pango_layout_get_iter(layout)
        repeat {
            var logical = PangoRectangle()
            pango_layout_iter_get_line_extents(iterator, nil, &logical)
            let baseline = pango_layout_iter_get_baseline(iterator)
            lines.append(Line(top: Double(logical.y) / scale, bottom: Double(logical.y + logical.height) / scale,
                              baseline: Double(baseline) / scale, x: Double(logical.x) / scale))
        } while pango_layout_iter_next_line(iterator) != 0
        pango_layout_iter_free(iterator)
        self.lines = lines
    }

    deinit { g_object_unref(UnsafeMutableRawPointer(layout)) }

    var height: Double { lines.isEmpty ? 0 : lines[lines.count - 1].bottom - lines[0].top }

    /// Height of lines `from..<to`.
    func height(from: Int, to: Int) -> Double { to > from ? lines[to - 1].bottom - lines[from].top : 0 }

    /// How many lines starting at `from` fit in `room` points (at least one if `force`).
    func linesFitting(from: Int, room: Double, force: Bool) -> Int {
        var end = from
        while end < lines.count, lines[end].bottom - lines[from].top <= room { end += 1 }
        if end == from, force, from < lines.count { end = from + 1 }
        return end
    }

    /// Draws lines `range` with the top of the first at (`x`, `y`).
    func draw(_ cr: OpaquePointer, lines range: Range<Int>, x: Double, y: Double) {
        guard let first = range.first else { return }
        let top = lines[first].top
        for i in range {
            let line = lines[i]
            cairo_move_to(cr, x + line.x, y + line.baseline - top)
            pango_cairo_show_layout_line(cr, pango_layout_get_line_readonly(layout, Int32(i)))
        }
    }
}

/// A decoded PNG as a cairo image surface, destroyed when the value dies.
final class ImageSurface {
    let surface: OpaquePointer
    let width: Double
    let height: Double

    init(png: [UInt8], index: Int) throws(ReportPDFError) {
        guard png.count > 8, png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw .invalidImage(index: index, reason: "no PNG signature")
        }
        let reader = ByteReader(png)
        let surface = withExtendedLifetime(reader) {
            cairo_image_surface_create_from_png_stream({ closure, data, length in
                guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
                let reader = Unmanaged<ByteReader>.fromOpaque(closure).takeUnretainedValue()
                return reader.read(into: data, count: Int(length)) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_READ_ERROR
            }, Unmanaged.passUnretained(reader).toOpaque())!
        }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            let reason = String(cString: cairo_status_to_string(status))
            cairo_surface_destroy(surface)
            throw .invalidImage(index: index, reason: reason)
        }
        let w = cairo_image_surface_get_width(surface), h = cairo_image_surface_get_height(surface)
        guard w > 0, h > 0 else {
            cairo_surface_destroy(surface)
            throw .invalidImage(index: index, reason: "empty image")
        }
        self.surface = surface
        self.width = Double(w)
        self.height = Double(h)
    }

    deinit { cairo_surface_destroy(surface) }
}

/// Feeds bytes to cairo's PNG reader.
final class ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into destination: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
        guard count <= bytes.count - offset else { return false }
        bytes.withUnsafeBufferPointer { source in
            destination.update(from: source.baseAddress! + offset, count: count)
        }
        offset += count
        return true
    }
}

/// Collects what cairo writes.
final class ByteSink {
    var bytes: [UInt8] = []
}

/// A cairo PDF surface writing into a `ByteSink`, and its drawing context; destroyed when the value dies.
final class PDFCanvas {
    /// Kept alive by the canvas: cairo writes into it until the surface is finished.
    let sink: ByteSink
    let surface: OpaquePointer
    let cr: OpaquePointer

    init(width: Double, height: Double) throws(ReportPDFError) {
        let sink = ByteSink()
        let surface = cairo_pdf_surface_create_for_stream({ closure, data, length in
            guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
            if let data, length > 0 { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length))) }
            return CAIRO_STATUS_SUCCESS
        }, Unmanaged.passUnretained(sink).toOpaque(), width, height)!
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(surface)
            throw .renderingFailed(stage: "cairo_pdf_surface_create_for_stream", reason: String(cString: cairo_status_to_string(status)))
        }
        self.sink = sink
        self.surface = surface
        self.cr = cairo_create(surface)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func setMetadata(_ key: cairo_pdf_metadata_t, _ value: String?) {
        guard let value else { return }
        cairo_pdf_surface_set_metadata(surface, key, value)
    }

    /// Ends the document; the sink then holds the whole PDF.
    func finish() throws(ReportPDFError) -> [UInt8] {
        let drawing = cairo_status(cr)
        guard drawing == CAIRO_STATUS_SUCCESS else {
            throw .renderingFailed(stage: "drawing", reason: String(cString: cairo_status_to_string(drawing)))
        }
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw .renderingFailed(stage: "cairo_surface_finish", reason: String(cString: cairo_status_to_string(status)))
        }
        return sink.bytes
    }
}
