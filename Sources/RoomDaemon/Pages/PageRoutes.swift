import HTTPTypes
import Hummingbird
import NIOCore

/// The pages roomd serves to the room's browsers: the station page (kiosk
/// Chromium on each evaluation PC) and the operator's console. Static HTML,
/// one stylesheet and one script each, compiled into the binary: nothing is
/// loaded from outside the room, and the Content-Security-Policy says so.
/// Everything the pages show comes from the JSON API with the browser's own
/// client certificate, so a page can do exactly what its certificate may.
struct PageRoutes: Sendable {
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        .cacheControl: "no-store",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]

    static func page(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func register(on routes: APIRouteTable) {
        routes.get("/station", roles: [.station], purpose: "the station page (zh-CN): check-in, discipline, scoring, signing") { _, _ in
            Self.page(StationPage.html, type: "text/html; charset=utf-8")
        }
        routes.get("/console", roles: [.operator, .supervisor], purpose: "the operator's console (zh-CN)") { _, _ in
            Self.page(ConsolePage.html, type: "text/html; charset=utf-8")
        }
        routes.get("/recordings", roles: [.supervisor, .operator],
                   purpose: "the supervisor's page (zh-CN): live wall, timeline with gaps, playback, export") { _, _ in
            Self.page(RecordingsPage.html, type: "text/html; charset=utf-8")
        }
        routes.get("/assets/recordings.js", roles: [.supervisor, .operator], purpose: "the supervisor page's script") { _, _ in
            Self.page(RecordingsPage.script, type: "text/javascript; charset=utf-8")
        }
        routes.get("/opening", roles: [.operator, .supervisor],
                   purpose: "the operator's opening console (zh-CN): countdown, live sign-in and decryption board, start/close/conclude, the record") { _, _ in
            Self.page(OpeningPages.consoleHTML, type: "text/html; charset=utf-8")
        }
        routes.get("/opening/supplier", roles: [.platform],
                   purpose: "the supplier's opening page (zh-CN), relayed by the platform: sign-in, decryption, confirmation, objection") { _, _ in
            Self.page(OpeningPages.supplierHTML, type: "text/html; charset=utf-8")
        }
        routes.get("/assets/opening.js", roles: [.operator, .supervisor, .platform], purpose: "what the opening pages' scripts share") { _, _ in
            Self.page(OpeningPages.common, type: "text/javascript; charset=utf-8")
        }
        routes.get("/assets/opening-console.js", roles: [.operator, .supervisor], purpose: "the opening console's script") { _, _ in
            Self.page(OpeningPages.consoleScript, type: "text/javascript; charset=utf-8")
        }
        routes.get("/assets/opening-supplier.js", roles: [.platform], purpose: "the supplier opening page's script") { _, _ in
            Self.page(OpeningPages.supplierScript, type: "text/javascript; charset=utf-8")
        }
        routes.get("/assets/room.css", roles: .everyone, purpose: "the pages' stylesheet") { _, _ in
            Self.page(PageStyle.css + RecordingsPage.css + OpeningPages.css, type: "text/css; charset=utf-8")
        }
        routes.get("/assets/room.js", roles: .everyone, purpose: "what the pages' scripts share") { _, _ in
            Self.page(PageScript.common, type: "text/javascript; charset=utf-8")
        }
        routes.get("/assets/station.js", roles: [.station], purpose: "the station page's script") { _, _ in
            Self.page(StationPage.script, type: "text/javascript; charset=utf-8")
        }
        routes.get("/assets/console.js", roles: [.operator, .supervisor], purpose: "the console's script") { _, _ in
            Self.page(ConsolePage.script, type: "text/javascript; charset=utf-8")
        }
    }
}

enum PageStyle {
    static let css = """
        * { box-sizing: border-box; }
        html, body { margin: 0; height: 100%; }
        body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; font-size: 18px;
               color: #1d2733; background: #eef1f5; }
        header { background: #8b1a1a; color: #fff; padding: 10px 24px; display: flex; justify-content: space-between; align-items: center; }
        header h1 { font-size: 22px; margin: 0; font-weight: 600; }
        header .who { font-size: 16px; }
        main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 80px; }
        .card { background: #fff; border-radius: 6px; padding: 20px 24px; margin-bottom: 18px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
        h2 { font-size: 21px; margin: 0 0 14px; }
        h3 { font-size: 18px; margin: 16px 0 8px; }
        label { display: block; margin: 10px 0 4px; font-weight: 600; }
        input[type=text], input[type=number], textarea, select { font: inherit; padding: 8px 10px; border: 1px solid #9aa5b1; border-radius: 4px; width: 100%; max-width: 520px; }
        textarea { max-width: 100%; min-height: 90px; }
        button { font: inherit; padding: 9px 22px; border: 0; border-radius: 4px; background: #1f5fa8; color: #fff; cursor: pointer; margin: 12px 10px 0 0; }
        button.secondary { background: #5b6875; }
        button.danger { background: #a12a2a; }
        button:disabled { background: #b6bec7; cursor: not-allowed; }
        button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
        .error { color: #a12a2a; font-weight: 600; margin-top: 8px; }
        .ok { color: #1e7b34; font-weight: 600; }
        .muted { color: #5b6875; font-size: 15px; }
        .big { font-size: 28px; text-align: center; padding: 60px 0; }
        .scroll { max-height: 46vh; overflow-y: auto; border: 1px solid #c5ccd4; padding: 12px 16px; background: #fafbfc; line-height: 1.8; }
        table { border-collapse: collapse; width: 100%; }
        th, td { border: 1px solid #c5ccd4; padding: 6px 8px; text-align: left; vertical-align: top; }
        th { background: #e3e8ee; }
        td.num, th.num { text-align: right; }
        td input { width: 110px; }
        td .error { font-size: 14px; margin: 2px 0 0; }
        .tabs button { background: #d6dde5; color: #1d2733; margin: 0 6px 6px 0; padding: 6px 16px; }
        .tabs button.current { background: #1f5fa8; color: #fff; }
        .qr { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
        .qr img { width: 260px; height: 260px; border: 1px solid #c5ccd4; background: #fff; }
        canvas.pad { border: 2px dashed #5b6875; background: #fff; touch-action: none; width: 600px; height: 240px; max-width: 100%; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 14px; }
        .station { border-left: 6px solid #b6bec7; }
        .station.online { border-left-color: #1e7b34; }
        .pill { display: inline-block; padding: 1px 10px; border-radius: 10px; background: #e3e8ee; font-size: 14px; margin-right: 6px; }
        .pill.bad { background: #f6d3d3; color: #7a1d1d; }
        pre { white-space: pre-wrap; word-break: break-all; font-size: 13px; }
        #notice { position: fixed; bottom: 0; left: 0; right: 0; padding: 12px 24px; background: #1d2733; color: #fff; display: none; }
        @media (max-width: 1400px) { body { font-size: 16px; } main { padding: 14px 16px 70px; } .qr img { width: 220px; height: 220px; } }
        """
}
