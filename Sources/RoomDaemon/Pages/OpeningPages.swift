/// The opening room's pages (开标, issue 18): the operator's opening console and the supplier's
/// page. Both follow the opening's live channel (`/v1/openings/<id>/stream`), which carries the
/// whole board and the server's time, so the countdowns run on the room's clock, not the browser's.
///
/// The supplier page is served to the platform's connection (role `platform`): the platform's
/// 不见面开标 hall relays it to the supplier. The supplier's USBKey is reached through its CA's own
/// signing tool (in a real room the CA's browser middleware), never by roomd: the page shows the
/// exact bytes to sign and offers them as a file, and takes back the detached PKCS#7 signature as
/// a file or as pasted Base64/PEM; it offers the sealed bid as a file and takes back the decrypted
/// opening summary as a file. What roomd checks is what the page uploads, nothing is trusted on
/// the page's word.
enum OpeningPages {
    static let consoleHTML = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>开标室控制台</title>
        <link rel="stylesheet" href="/assets/room.css">
        <script src="/assets/room.js" defer></script>
        <script src="/assets/opening.js" defer></script>
        <script src="/assets/opening-console.js" defer></script>
        </head>
        <body>
        <header><h1 id="title">开标室控制台</h1><div class="who" id="who"></div></header>
        <main>
          <div class="card"><h2 id="project">开标项目</h2>
            <div>当前阶段：<strong id="phase">—</strong></div>
            <div class="big-clock"><span id="countdown-label"></span> <strong id="countdown"></strong></div>
            <div class="muted" id="times"></div></div>
          <div class="card"><h2>签到与解密</h2><div id="board"></div></div>
          <div class="card"><h2>操作</h2>
            <button id="start" disabled>开始开标（解密开始）</button>
            <button id="close" class="secondary" disabled>结束解密</button>
            <button id="conclude" class="secondary" disabled>结束开标</button>
            <div class="error" id="err" role="alert"></div><div class="ok" id="done"></div></div>
          <div class="card"><h2>开标记录</h2><div id="record"><p class="muted">解密结束后生成开标记录。</p></div></div>
          <div class="card"><h2>已记录的拒绝</h2><div id="rejections"><p class="muted">暂无。</p></div></div>
        </main>
        <div id="notice" role="status"></div>
        </body>
        </html>
        """

    static let supplierHTML = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>供应商开标</title>
        <link rel="stylesheet" href="/assets/room.css">
        <script src="/assets/room.js" defer></script>
        <script src="/assets/opening.js" defer></script>
        <script src="/assets/opening-supplier.js" defer></script>
        </head>
        <body>
        <header><h1 id="title">供应商开标</h1><div class="who" id="who">尚未签到</div></header>
        <main>
          <div class="card"><h2 id="project">开标项目</h2>
            <div>当前阶段：<strong id="phase">—</strong></div>
            <div class="big-clock"><span id="countdown-label"></span> <strong id="countdown"></strong></div>
            <div class="muted" id="times"></div>
            <div id="mine"></div></div>
          <div class="card" id="step-signin"><h2>第一步：签到</h2>
            <p class="muted">签到须在投标截止时间前完成。点击“获取签到内容”，用本单位CA证书（USBKey）通过CA提供的签名工具对签到内容文件进行签名（PKCS#7分离式签名），再上传签名文件或粘贴Base64签名。签到内容2分钟内有效，只能使用一次。</p>
            <button id="get-challenge">获取签到内容</button>
            <div id="challenge" hidden><label>待签名的签到内容</label><pre id="challenge-text"></pre>
              <a id="challenge-file" href="#">下载签到内容文件</a>
              <label for="signin-file">签名文件（.p7s，DER或PEM）</label><input type="file" id="signin-file">
              <label for="signin-text">或粘贴签名（Base64）</label><textarea id="signin-text"></textarea>
              <button id="signin">提交签到</button></div>
            <div class="error" id="signin-err" role="alert"></div><div class="ok" id="signin-ok"></div></div>
          <div class="card" id="step-decrypt"><h2>第二步：解密投标文件</h2>
            <p class="muted">开标开始后，在解密时限内下载本单位的加密投标文件，用本单位加密证书（USBKey）解密，上传解密得到的开标一览表文件。无法解密时请填写原因。</p>
            <button id="bid-download" disabled>下载加密投标文件</button>
            <label for="summary-file">解密得到的开标一览表文件</label><input type="file" id="summary-file">
            <button id="upload-summary" disabled>上传解密结果</button>
            <label for="failure-reason">无法解密的原因</label><textarea id="failure-reason"></textarea>
            <button id="report-failure" class="danger" disabled>报告解密失败</button>
            <div class="error" id="decrypt-err" role="alert"></div><div class="ok" id="decrypt-ok"></div></div>
          <div class="card" id="step-record"><h2>第三步：确认开标记录或提出异议</h2>
            <div id="record"><p class="muted">解密结束后显示开标记录。</p></div>
            <div id="answer" hidden>
              <h3>确认开标记录</h3>
              <p class="muted">请下载开标记录文件（即所签署的内容，SHA-256 <span id="readout-sha"></span>），用本单位CA证书签名后上传签名。</p>
              <a id="readout-file" href="#">下载开标记录文件</a>
              <label for="confirm-file">签名文件（.p7s）</label><input type="file" id="confirm-file">
              <label for="confirm-text">或粘贴签名（Base64）</label><textarea id="confirm-text"></textarea>
              <button id="confirm">确认开标记录</button>
              <h3>提出异议（《政府采购货物和服务招标投标管理办法》第四十条）</h3>
              <label for="objection-text">异议内容</label><textarea id="objection-text"></textarea>
              <button id="objection-prepare" class="secondary">生成待签名的异议文件</button> <a id="objection-file" href="#" hidden>下载异议文件</a>
              <label for="objection-sig-file">异议签名文件（.p7s）</label><input type="file" id="objection-sig-file">
              <label for="objection-sig-text">或粘贴签名（Base64）</label><textarea id="objection-sig-text"></textarea>
              <button id="object" class="danger">提交异议</button></div>
            <div class="error" id="answer-err" role="alert"></div><div class="ok" id="answer-ok"></div></div>
        </main>
        <div id="notice" role="status"></div>
        </body>
        </html>
        """

    static let css = """
        .big-clock { font-size: 30px; margin: 10px 0; }
        .big-clock strong { font-variant-numeric: tabular-nums; }
        tr.flagged td { background: #fff3d6; }
        tr.status-decrypted td[data-field=status] { color: #1e7b34; font-weight: 600; }
        tr.status-failed td[data-field=status], tr.status-timedOut td[data-field=status], tr.status-notOpened td[data-field=status] { color: #a12a2a; font-weight: 600; }
        """

    /// What both opening pages share: choosing the opening, the live channel, the server's clock,
    /// the countdown and the record table.
    static let common = #"""
        "use strict";
        // roomd opening pages (after /assets/room.js).
        const O = { id: null, view: null, offset: 0, source: null };
        const PHASE = { signIn: "签到", decryption: "解密", confirmation: "开标记录确认", concluded: "开标结束" };
        const serverNow = () => Date.now() + O.offset;
        const beijing = (ms) => ms ? new Date(ms).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "—";
        function clockText(ms) {
          const s = Math.max(0, Math.ceil(ms / 1000));
          const two = (n) => String(n).padStart(2, "0");
          return two(Math.floor(s / 3600)) + ":" + two(Math.floor(s / 60) % 60) + ":" + two(s % 60);
        }

        // The opening named in the address (?opening=…), else the newest one not yet concluded.
        async function chooseOpening() {
          const named = new URLSearchParams(location.search).get("opening");
          if (named) return named;
          const list = await api("GET", "/v1/openings");
          if (list.status !== 200) { notice(message(list)); return null; }
          const open = list.body.filter((o) => o.phase !== "concluded");
          const chosen = (open.length ? open : list.body).at(-1);
          if (!chosen) notice("本开标室尚无开标项目：开标定义由政府采购云平台推送，或由操作员导入。");
          return chosen ? chosen.opening : null;
        }

        // The live channel: the whole board after every event, with the server's time.
        async function follow(id, render) {
          O.id = id;
          // An opening that does not exist (or may not be seen) is said once, not retried forever.
          const first = await api("GET", "/v1/openings/" + encodeURIComponent(id));
          if (first.status !== 200) { notice(message(first)); return; }
          O.source = new EventSource("/v1/openings/" + encodeURIComponent(id) + "/stream");
          O.source.addEventListener("opening", (e) => {
            const board = JSON.parse(e.data);
            O.offset = board.now - Date.now();
            O.view = board.opening;
            notice("");
            showHeader();
            render();
          });
          O.source.addEventListener("clock", (e) => { O.offset = JSON.parse(e.data).now - Date.now(); });
          O.source.onerror = () => notice("与开标室服务器的实时连接中断，正在自动重新连接；如长时间未恢复，请检查网络后刷新页面。");
          setInterval(tick, 250);
        }

        function showHeader() {
          const v = O.view;
          el("project").textContent = v.opening + (v.record ? " · " + v.record.project.name : "");
          el("phase").textContent = PHASE[v.phase] || v.phase;
          el("times").textContent = "投标截止：" + beijing(v.deadline) + (v.openedAt ? " · 开标：" + beijing(v.openedAt) : "") +
            (v.windowEnd ? " · 解密截止：" + beijing(v.windowEnd) : "") + (v.closedAt ? " · 解密结束：" + beijing(v.closedAt) : "") +
            (v.concludedAt ? " · 开标结束：" + beijing(v.concludedAt) : "");
          tick();
        }

        // The countdown: to the bid deadline while signing in, to the window's end while decrypting.
        function tick() {
          const v = O.view;
          if (!v) return;
          let label = "", text = "";
          if (v.phase === "signIn") {
            const left = v.deadline - serverNow();
            label = left > 0 ? "距投标截止" : "投标截止时间已到";
            text = left > 0 ? clockText(left) : "等待操作员开始开标";
          } else if (v.phase === "decryption") {
            const left = v.windowEnd - serverNow();
            label = left > 0 ? "距解密截止" : "解密时限已到";
            text = left > 0 ? clockText(left) : "正在结束解密";
          }
          el("countdown-label").textContent = label;
          el("countdown").textContent = text;
          el("countdown").dataset.remaining = v.phase === "signIn" ? v.deadline - serverNow() : v.phase === "decryption" ? v.windowEnd - serverNow() : "";
        }

        // The opening record (开标记录) as read out: per lot the bids opened, the figures/words check, the bids not opened.
        function recordHTML(v) {
          if (!v.table) return '<p class="muted">解密结束后生成开标记录。</p>';
          return v.table.map((lot) =>
            "<h3>包 " + esc(lot.lot) + " " + esc(lot.name) + "</h3>" +
            '<table class="record"><tr><th>供应商</th><th>统一社会信用代码</th><th class="num">投标报价（小写，元）</th><th>投标报价（大写）</th><th>大小写核对</th></tr>' +
            lot.bids.map((b) => '<tr data-supplier="' + esc(b.supplier) + '"' + (b.flagged ? ' class="flagged"' : "") + "><td>" + esc(b.name) + "</td><td>" + esc(b.supplier) +
              '</td><td class="num">' + esc(b.priceInFigures) + "</td><td>" + esc(b.priceInWords) + "</td><td>" + (b.flagged ? '<span class="error">⚠ ' + esc(b.note) + "</span>" : esc(b.note)) + "</td></tr>").join("") +
            "</table>" +
            (lot.invalid.length ? "<h3>未开启的投标</h3><table><tr><th>供应商</th><th>统一社会信用代码</th><th>原因</th></tr>" +
              lot.invalid.map((b) => '<tr data-invalid="' + esc(b.supplier) + '"><td>' + esc(b.name) + "</td><td>" + esc(b.supplier) + "</td><td>" + esc(b.reason) + "</td></tr>").join("") + "</table>" : "") +
            (lot.failure ? '<p class="error">' + esc(lot.failure) + "</p>" : "")).join("");
        }

        const ANSWER = { confirmed: "已确认", objected: "提出异议" };
        function supplierRow(s) {
          return '<tr data-supplier="' + esc(s.creditCode) + '" class="status-' + esc(s.status) + '"><td>' + esc(s.name) + "</td><td>" + esc(s.creditCode) + "</td><td>" +
            (s.sealedBidReceivedAt ? "已收到" : '<span class="error">未收到</span>') + '</td><td data-field="signin">' + (s.signedInAt ? "✓ " + esc(beijing(s.signedInAt)) : "—") +
            '</td><td data-field="status">' + esc(s.statusText) + '</td><td data-field="answer">' + esc(ANSWER[s.answer] || "—") +
            (s.objection ? '<div class="muted">异议：' + esc(s.objection) + "</div>" : "") + "</td></tr>";
        }
        const BOARD_HEAD = "<table><tr><th>供应商</th><th>统一社会信用代码</th><th>加密投标文件</th><th>签到</th><th>解密</th><th>开标记录</th></tr>";

        // Bytes as a file the browser saves (what the supplier's signing or decryption tool reads).
        function offerFile(link, bytes, name) {
          if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
          link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
          link.download = name;
          link.hidden = false;
        }
        const fromBase64 = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        function toBase64(bytes) {
          let text = "";
          for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          return btoa(text);
        }
        """#

    static let consoleScript = #"""
        "use strict";
        // The operator's opening console (after room.js and opening.js).
        function render() {
          const v = O.view;
          el("board").innerHTML = BOARD_HEAD + v.suppliers.map(supplierRow).join("") + "</table>";
          el("record").innerHTML = recordHTML(v);
          el("rejections").innerHTML = v.rejections.length
            ? "<table><tr><th>时间</th><th>统一社会信用代码</th><th>原因</th></tr>" + v.rejections.map((r) =>
                "<tr><td>" + esc(beijing(r.at)) + "</td><td>" + esc(r.supplier) + "</td><td>" + esc(r.message) + "</td></tr>").join("") + "</table>"
            : '<p class="muted">暂无。</p>';
          el("start").disabled = v.phase !== "signIn";
          el("close").disabled = v.phase !== "decryption";
          el("conclude").disabled = v.phase !== "confirmation";
        }

        async function send(path, what) {
          el("err").textContent = ""; el("done").textContent = "";
          const answer = await api("POST", "/v1/openings/" + encodeURIComponent(O.id) + "/" + path);
          if (answer.status === 201) el("done").textContent = what + "：已执行。";
          else el("err").textContent = what + "未执行：" + message(answer);
        }

        window.addEventListener("load", async () => {
          const room = await api("GET", "/v1/room");
          if (room.status === 200) el("who").textContent = room.body.room.name + " · " + room.body.room.id;
          const id = await chooseOpening();
          if (!id) return;
          el("start").onclick = () => send("start", "开始开标");
          el("close").onclick = () => { if (confirm("确认结束解密？未解密的投标文件将不予开启。")) send("close-decryption", "结束解密"); };
          el("conclude").onclick = () => { if (confirm("确认结束开标？")) send("conclude", "结束开标"); };
          follow(id, render);
        });
        """#

    static let supplierScript = #"""
        "use strict";
        // The supplier's opening page (after room.js and opening.js), relayed by the platform's hall.
        const S = { token: null, supplier: null, challenge: null, readout: null };
        const base = () => "/v1/openings/" + encodeURIComponent(O.id);

        async function supplierCall(method, path, body) {
          const init = { method, headers: { "Roomd-Supplier-Token": S.token || "" } };
          if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
          let response;
          try { response = await fetch(base() + path, init); } catch (e) { return { status: 0, body: { message: "无法连接开标室服务器，请检查网络后重试。" } }; }
          let data = {};
          try { data = await response.json(); } catch (e) { data = {}; }
          if (response.status === 401) forget();
          return { status: response.status, body: data };
        }

        function say(step, ok, text) { el(step + "-err").textContent = ok ? "" : text; el(step + "-ok").textContent = ok ? text : ""; }

        // A signature from a file (DER, PEM or Base64 text) or the pasted text: Base64 of the DER.
        async function signatureFrom(fileInput, textArea) {
          const file = el(fileInput).files[0];
          let text = el(textArea).value;
          if (file) {
            const bytes = new Uint8Array(await file.arrayBuffer());
            const ascii = new TextDecoder("latin1").decode(bytes);
            if (!/^[\sA-Za-z0-9+/=:-]*$/.test(ascii)) return toBase64(bytes);
            text = ascii;
          }
          const b64 = text.replace(/-----(BEGIN|END)[^-]*-----/g, "").replace(/\s+/g, "");
          if (!b64) return null;
          if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error("签名不是有效的Base64或PEM格式，请上传CA签名工具生成的签名文件。");
          return b64;
        }

        function remember(token, supplier) {
          S.token = token; S.supplier = supplier;
          sessionStorage.setItem("roomd-opening:" + O.id, JSON.stringify({ token, supplier }));
        }
        function forget() {
          S.token = null; S.supplier = null;
          sessionStorage.removeItem("roomd-opening:" + O.id);
          say("signin", false, "签到已失效（例如开标室服务器重启），请重新获取签到内容并签名。");
          render();
        }

        async function getChallenge() {
          say("signin", true, "");
          const answer = await api("POST", base() + "/sign-in/challenges", {});
          if (answer.status !== 201) { say("signin", false, "未能获取签到内容：" + message(answer)); return; }
          S.challenge = answer.body;
          el("challenge").hidden = false;
          el("challenge-text").textContent = answer.body.signed;
          offerFile(el("challenge-file"), new TextEncoder().encode(answer.body.signed), "signin-" + answer.body.request + ".json");
          el("signin-file").value = ""; el("signin-text").value = "";
        }

        async function signIn() {
          say("signin", true, ""); // a new action: the previous outcome no longer applies
          if (!S.challenge) { say("signin", false, "请先获取签到内容。"); return; }
          let signature;
          try { signature = await signatureFrom("signin-file", "signin-text"); } catch (e) { say("signin", false, e.message); return; }
          if (!signature) { say("signin", false, "请上传签名文件或粘贴签名后再提交。"); return; }
          const answer = await api("POST", base() + "/sign-in", { request: S.challenge.request, signature });
          // A challenge answers once: whatever the outcome, the next try needs a new one.
          S.challenge = null; el("challenge").hidden = true;
          if (answer.status === 201 || answer.status === 200) {
            remember(answer.body.token, answer.body.supplier);
            say("signin", true, "签到成功：统一社会信用代码 " + answer.body.supplier + (answer.status === 200 ? "（此前已签到，已重新连接）" : ""));
            render();
          } else say("signin", false, "签到未成功：" + message(answer) + " 请重新获取签到内容后再签名。");
        }

        async function downloadBid() {
          say("decrypt", true, ""); // a new action: the previous outcome no longer applies
          const answer = await supplierCall("GET", "/supplier/sealed-bid");
          if (answer.status !== 200) { say("decrypt", false, "未能下载加密投标文件：" + message(answer)); return; }
          const link = document.createElement("a");
          offerFile(link, fromBase64(answer.body.sealedBid), S.supplier + "-sealed-bid.p7m");
          document.body.appendChild(link); link.click(); link.remove();
          say("decrypt", true, "已下载加密投标文件（SHA-256 " + answer.body.sha256 + "），请用本单位加密证书解密。");
        }

        async function uploadSummary() {
          say("decrypt", true, ""); // a new action: the previous outcome no longer applies
          const file = el("summary-file").files[0];
          if (!file) { say("decrypt", false, "请选择解密得到的开标一览表文件。"); return; }
          const plaintext = toBase64(new Uint8Array(await file.arrayBuffer()));
          const answer = await supplierCall("POST", "/supplier/decryption", { plaintext });
          if (answer.status === 201) say("decrypt", true, "解密成功，开标一览表已提交。");
          else say("decrypt", false, "解密结果未被采用：" + message(answer) +
                   (answer.status === 422 ? " 请确认上传的是用本单位加密证书解密本单位加密投标文件得到的开标一览表文件；解密时限内可再次上传。" : ""));
          el("summary-file").value = "";
        }

        async function reportFailure() {
          say("decrypt", true, ""); // a new action: the previous outcome no longer applies
          const failure = el("failure-reason").value.trim();
          if (!failure) { say("decrypt", false, "请填写无法解密的原因。"); return; }
          if (!confirm("确认报告解密失败？解密时限内仍可再次上传解密结果。")) return;
          const answer = await supplierCall("POST", "/supplier/decryption", { failure });
          say("decrypt", false, answer.status === 422 ? message(answer) + " 解密时限内仍可再次上传解密结果。" : "未能报告：" + message(answer));
        }

        async function loadReadout() {
          const answer = await api("GET", base() + "/record");
          if (answer.status !== 200) { say("answer", false, "未能获取开标记录：" + message(answer)); return; }
          S.readout = answer.body;
          el("readout-sha").textContent = answer.body.readoutSHA256;
          offerFile(el("readout-file"), fromBase64(answer.body.readoutBytes), "readout-" + answer.body.readoutSHA256.slice(0, 16) + ".json");
        }

        async function confirmRecord() {
          say("answer", true, ""); // a new action: the previous outcome no longer applies
          let signature;
          try { signature = await signatureFrom("confirm-file", "confirm-text"); } catch (e) { say("answer", false, e.message); return; }
          if (!signature) { say("answer", false, "请上传对开标记录的签名后再确认。"); return; }
          const answer = await supplierCall("POST", "/supplier/confirmation", { signature });
          if (answer.status === 201) say("answer", true, "已确认开标记录。");
          else say("answer", false, "确认未成功：" + message(answer));
        }

        function prepareObjection() {
          const text = el("objection-text").value;
          if (!text.trim()) { say("answer", false, "请填写异议内容。"); return; }
          S.objection = text;
          offerFile(el("objection-file"), new TextEncoder().encode(text), "objection-" + (S.supplier || "") + ".txt");
          say("answer", true, "已生成异议文件，请签名后上传签名。修改异议内容后须重新生成并签名。");
        }

        async function object() {
          say("answer", true, ""); // a new action: the previous outcome no longer applies
          if (!S.objection || S.objection !== el("objection-text").value) { say("answer", false, "异议内容已修改或尚未生成待签名文件，请先生成异议文件并签名。"); return; }
          let signature;
          try { signature = await signatureFrom("objection-sig-file", "objection-sig-text"); } catch (e) { say("answer", false, e.message); return; }
          if (!signature) { say("answer", false, "请上传对异议文件的签名后再提交。"); return; }
          const answer = await supplierCall("POST", "/supplier/objection", { text: S.objection, signature });
          if (answer.status === 201) say("answer", true, "异议已提交并记入开标记录。");
          else say("answer", false, "异议未提交：" + message(answer));
        }

        function render() {
          const v = O.view;
          if (!v) return;
          const me = S.supplier && v.suppliers.find((s) => s.creditCode === S.supplier);
          el("who").textContent = me ? me.name + "（" + me.creditCode + "）" : "尚未签到";
          // A supplier sees its own progress; the others' only in the record, once decryption has closed.
          el("mine").innerHTML = me ? BOARD_HEAD + supplierRow(me) + "</table>" : "";
          // Signing in again (a lost token) is allowed in any phase; a first sign-in after the deadline is recorded as late.
          el("get-challenge").disabled = !!me || v.phase === "concluded";
          const decrypting = v.phase === "decryption" && me && me.status !== "decrypted";
          for (const id of ["bid-download", "upload-summary", "report-failure"]) el(id).disabled = !decrypting;
          el("record").innerHTML = recordHTML(v);
          const answering = v.phase === "confirmation" && me && !me.answer;
          el("answer").hidden = !answering;
          if (answering && !S.readout) loadReadout();
        }

        window.addEventListener("load", async () => {
          const id = await chooseOpening();
          if (!id) return;
          O.id = id;
          const kept = JSON.parse(sessionStorage.getItem("roomd-opening:" + id) || "null");
          if (kept) { S.token = kept.token; S.supplier = kept.supplier; }
          el("get-challenge").onclick = getChallenge;
          el("signin").onclick = signIn;
          el("bid-download").onclick = downloadBid;
          el("upload-summary").onclick = uploadSummary;
          el("report-failure").onclick = reportFailure;
          el("confirm").onclick = confirmRecord;
          el("objection-prepare").onclick = prepareObjection;
          el("object").onclick = object;
          follow(id, render);
        });
        """#
}
