/// The supervisor's page (zh-CN): the room's devices, a timeline bar per
/// device with its recorded spans and its gaps (reason on hover), a player
/// that plays and seeks across segments, exports, and the live wall (the
/// latest picture of every device, refreshed every second). Everything comes
/// from the recording routes with the browser's own client certificate.
enum RecordingsPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>录像调阅</title>
        <link rel="stylesheet" href="/assets/room.css">
        <script src="/assets/room.js" defer></script>
        <script src="/assets/recordings.js" defer></script>
        </head>
        <body>
        <header><h1>录像调阅与监督</h1><div class="who" id="who">所有查看、下载和导出均记入审计账本</div></header>
        <main>
          <div class="card"><h2>实时画面</h2><div class="wall" id="wall"></div></div>
          <div class="card"><h2>时间轴</h2>
            <div class="range">
              <label for="from">开始时间</label><input type="datetime-local" id="from" step="1">
              <label for="to">结束时间</label><input type="datetime-local" id="to" step="1">
              <button id="show">查询</button><button class="secondary" id="last-hour">最近一小时</button>
            </div>
            <div class="error" id="timeline-error"></div>
            <div id="timeline"></div>
            <div class="legend muted"><span class="swatch span-recorded"></span>已录制 <span class="swatch gap"></span>中断（悬停查看原因） <span class="swatch span-deleted"></span>按期限删除 <span class="swatch impair"></span>丢帧/音频溢出</div>
          </div>
          <div class="card"><h2>回放</h2>
            <div class="muted" id="player-where">在时间轴上点击要查看的时刻。</div>
            <video id="player" controls preload="auto" width="960"></video>
            <div><span id="player-time" class="muted"></span></div>
            <div class="error" id="player-error"></div>
            <div><button class="secondary" id="export">导出所选时间范围（MP4，不重新编码）</button><span class="muted" id="export-note"></span></div>
          </div>
        </main>
        <div id="notice" role="status"></div>
        </body>
        </html>
        """

    static let css = """
        .wall { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 12px; }
        .tile { background: #111; color: #fff; border-radius: 4px; overflow: hidden; position: relative; min-height: 150px; }
        .tile img { width: 100%; display: block; }
        .tile .label { position: absolute; left: 0; right: 0; bottom: 0; background: rgba(0,0,0,.55); padding: 3px 8px; font-size: 14px; display: flex; justify-content: space-between; }
        .tile.stale .label { background: rgba(161,42,42,.85); }
        .range { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; }
        .range label { margin: 0; }
        .range input { width: 240px; }
        .row { display: grid; grid-template-columns: 90px 1fr; align-items: center; margin: 8px 0; }
        .bar { position: relative; height: 30px; background: #f3f4f6; border: 1px solid #c5ccd4; cursor: crosshair; }
        .bar div { position: absolute; top: 0; bottom: 0; }
        .span-recorded { background: #2e8b57; }
        .span-deleted { background: #9aa5b1; }
        .span-missing { background: #a12a2a; }
        .gap { background: repeating-linear-gradient(45deg, #f0a500, #f0a500 4px, #fff3d6 4px, #fff3d6 8px); }
        .impair { background: #a12a2a; min-width: 2px; }
        .cursor { background: #1f5fa8; width: 2px; }
        .swatch { display: inline-block; width: 16px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
        .axis { display: flex; justify-content: space-between; font-size: 13px; color: #5b6875; margin-left: 90px; }
        video { background: #000; max-width: 100%; }
        .thumb { width: 100%; max-width: 260px; min-height: 60px; display: block; background: #111; border-radius: 3px; margin: 4px 0; }
        .camera { float: right; width: 320px; margin: 0 0 12px 18px; }
        .camera img { width: 320px; min-height: 180px; background: #111; display: block; border-radius: 4px; }
        """

    static let script = #"""
        "use strict";
        // roomd supervisor page (after /assets/room.js).
        const REASONS = { "device-lost": "设备断开或未找到", "dropped-frames": "丢帧", "audio-xrun": "音频溢出", "helper-restarted": "录像进程重启",
          "daemon-not-running": "roomd 未运行", "disk-full": "磁盘已满", "deleted-by-retention": "按保存期限删除", "file-missing": "录像文件缺失",
          "not-yet-recorded": "尚未录制", "unexplained": "原因不明" };
        const R = { devices: [], timeline: null, from: 0, to: 0, play: null };
        const pad = (n) => String(n).padStart(2, "0");
        const localInput = (ms) => { const d = new Date(ms); return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); };
        const show = (ns) => new Date(ns / 1e6).toLocaleString("zh-CN", { hour12: false });
        const iso = (ms) => new Date(ms).toISOString();

        async function loadDevices() {
          const a = await api("GET", "/v1/recordings/devices");
          if (a.status !== 200) { notice(message(a)); return; }
          R.devices = a.body;
          const wall = el("wall");
          wall.innerHTML = R.devices.filter((d) => d.video).map((d) =>
            `<div class="tile" id="tile-${esc(d.device)}"><img alt="${esc(d.name)}" id="live-${esc(d.device)}"><div class="label"><span>${esc(d.name)}（${esc(d.device)}）</span><span id="age-${esc(d.device)}">…</span></div></div>`).join("");
          for (const d of R.devices.filter((d) => d.video)) refreshLive(d.device);
        }

        // The live wall: each tile fetches its device's latest picture once a
        // second (after the previous one arrived, so a slow link is never flooded).
        async function refreshLive(device) {
          const started = Date.now();
          try {
            const r = await fetch("/v1/recordings/live/" + encodeURIComponent(device) + ".jpg", { cache: "no-store" });
            const tile = el("tile-" + device), age = el("age-" + device);
            if (r.ok) {
              const blob = await r.blob();
              const img = el("live-" + device);
              const old = img.src;
              img.src = URL.createObjectURL(blob);
              if (old.startsWith("blob:")) URL.revokeObjectURL(old);
              const ms = Number(r.headers.get("Roomd-Picture-Age-Ms") || "0");
              const stale = ms > 5000;
              tile.classList.toggle("stale", stale);
              age.textContent = stale ? "画面停止 " + Math.round(ms / 1000) + " 秒" : new Date(r.headers.get("Roomd-Picture-Time")).toLocaleTimeString("zh-CN", { hour12: false });
              img.dataset.updated = String(Date.now());
            } else {
              tile.classList.add("stale");
              age.textContent = "无画面";
            }
          } catch (e) { /* the next round tries again */ }
          setTimeout(() => refreshLive(device), Math.max(0, 1000 - (Date.now() - started)));
        }

        async function loadTimeline() {
          el("timeline-error").textContent = "";
          const from = new Date(el("from").value).getTime(), to = new Date(el("to").value).getTime();
          if (!(from < to)) { el("timeline-error").textContent = "开始时间必须早于结束时间。"; return; }
          const a = await api("GET", "/v1/recordings/timeline?from=" + encodeURIComponent(iso(from)) + "&to=" + encodeURIComponent(iso(to)));
          if (a.status !== 200) { el("timeline-error").textContent = message(a); return; }
          R.timeline = a.body; R.from = a.body.from; R.to = a.body.to;
          drawTimeline();
        }

        function drawTimeline() {
          const t = R.timeline, width = t.to - t.from;
          const pct = (ns) => Math.max(0, Math.min(100, (ns - t.from) / width * 100));
          // Placed through the CSSOM below: the page's Content-Security-Policy (style-src 'self') drops style attributes in markup.
          const block = (cls, a, b, title) => `<div class="${cls}" data-left="${pct(a)}" data-width="${Math.max(pct(b) - pct(a), 0.15)}" title="${esc(title)}"></div>`;
          let html = `<div class="axis"><span>${esc(show(t.from))}</span><span>${esc(show(t.to))}</span></div>`;
          for (const d of t.devices) {
            let bars = "";
            for (const s of d.spans) bars += block("span-" + s.state, s.start, s.end, (s.state === "recorded" ? "已录制" : s.state === "deleted" ? "已按期限删除" : "文件缺失") + "：" + show(s.start) + " — " + show(s.end) + "（" + s.segments + " 个片段）");
            for (const g of d.gaps) {
              const cls = (g.reason === "dropped-frames" || g.reason === "audio-xrun") ? "impair" : "gap";
              if (g.reason === "deleted-by-retention" || g.reason === "file-missing") continue;
              bars += block(cls + " gap-" + g.reason, g.start, g.end, (REASONS[g.reason] || g.reason) + "：" + show(g.start) + " — " + show(g.end) + "\n" + g.detail);
            }
            html += `<div class="row"><div>${esc(d.device)}</div><div class="bar" data-device="${esc(d.device)}" id="bar-${esc(d.device)}">${bars}</div></div>`;
          }
          el("timeline").innerHTML = html;
          for (const b of el("timeline").querySelectorAll("[data-left]")) { b.style.left = b.dataset.left + "%"; b.style.width = b.dataset.width + "%"; }
          for (const bar of document.querySelectorAll(".bar")) {
            bar.addEventListener("click", (ev) => {
              const rect = bar.getBoundingClientRect();
              const at = t.from + Math.round((ev.clientX - rect.left) / rect.width * width);
              playAt(bar.dataset.device, at);
            });
          }
        }

        // Plays `device` from wall time `at` (ns): the segment holding it, then the next ones.
        async function playAt(device, at) {
          el("player-error").textContent = "";
          const a = await api("GET", "/v1/recordings/segments?device=" + encodeURIComponent(device) + "&from=" + (at - 1) + "&to=" + (R.to || at + 3600e9));
          if (a.status !== 200) { el("player-error").textContent = message(a); return; }
          const segments = a.body.filter((s) => !s.deleted && s.state !== "writing" && s.state !== "missing");
          const first = segments.findIndex((s) => (s.endNs || s.startNs) > at);
          if (first < 0) { el("player-error").textContent = "该时刻没有可回放的录像（请查看时间轴上的中断原因）。"; return; }
          R.play = { device, segments, index: first, offset: Math.max(0, (at - segments[first].startNs) / 1e9) };
          startSegment();
        }

        function startSegment() {
          const p = R.play, s = p.segments[p.index], video = el("player");
          el("player-where").textContent = p.device + " · 片段 " + s.id + " · " + show(s.startNs) + " 起";
          video.src = "/v1/recordings/segments/" + s.id + "/rendition.mp4";
          video.onloadedmetadata = () => { if (p.offset > 0) { video.currentTime = p.offset; p.offset = 0; } video.play().catch(() => {}); };
          video.onended = () => { if (p.index + 1 < p.segments.length) { p.index += 1; p.offset = 0; startSegment(); } };
          video.onerror = () => { el("player-error").textContent = "无法播放该片段，可导出或下载原始片段后查看。"; };
        }

        function tick() {
          const video = el("player");
          if (R.play && !video.paused) {
            const s = R.play.segments[R.play.index];
            el("player-time").textContent = "画面时间：" + show(s.startNs + video.currentTime * 1e9);
          }
        }

        document.addEventListener("DOMContentLoaded", () => {
          const now = Date.now();
          el("from").value = localInput(now - 3600e3);
          el("to").value = localInput(now);
          el("show").addEventListener("click", loadTimeline);
          el("last-hour").addEventListener("click", () => { const n = Date.now(); el("from").value = localInput(n - 3600e3); el("to").value = localInput(n); loadTimeline(); });
          el("export").addEventListener("click", () => {
            const device = R.play ? R.play.device : (R.devices[0] || {}).device;
            const from = new Date(el("from").value).getTime(), to = new Date(el("to").value).getTime();
            if (!device || !(from < to)) { el("export-note").textContent = "请先选择设备和时间范围。"; return; }
            el("export-note").textContent = "正在导出 " + device + "…（导出记录已写入审计账本）";
            window.location.href = "/v1/recordings/export.mp4?device=" + encodeURIComponent(device) + "&from=" + encodeURIComponent(iso(from)) + "&to=" + encodeURIComponent(iso(to));
          });
          el("player").addEventListener("timeupdate", tick);
          loadDevices().then(loadTimeline);
        });
        """#
}
