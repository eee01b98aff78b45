/// The operator's console: every station at a glance, the session's phase and
/// members, and the commands the rules allow the operator now. Conflicting
/// actions are refused by roomd with a Chinese message; nothing is applied
/// halfway (a command is one engine step and one transaction).
enum ConsolePage {
    static let html = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>评标室控制台</title>
        <link rel="stylesheet" href="/assets/room.css">
        <script src="/assets/room.js" defer></script>
        <script src="/assets/console.js" defer></script>
        </head>
        <body>
        <header><h1 id="title">评标室控制台</h1><div class="who" id="who"></div></header>
        <main>
          <div class="card"><h2>评审终端</h2><div class="grid" id="stations"></div>
            <label for="broadcast">向全部终端发送通知</label><input type="text" id="broadcast" maxlength="500"><button class="secondary" id="send-broadcast">发送通知</button>
            <span class="ok" id="broadcast-done"></span></div>
          <div class="card"><h2>评审场次</h2><div id="sessions"></div></div>
          <div class="card" id="session-card" hidden><h2 id="session-title"></h2><div id="session"></div></div>
          <div class="card" id="actions-card" hidden><h2>操作</h2><div id="actions"></div><div class="error" id="err"></div><div class="ok" id="done"></div></div>
        </main>
        <div id="notice" role="status"></div>
        </body>
        </html>
        """

    static let script = #"""
        "use strict";
        // roomd operator console (after /assets/room.js).
        const C = { session: null, view: null, source: null, thumbs: {} };

        // Each station's camera, its latest picture every two seconds (the same
        // pictures as the supervisor's live wall; nothing is read from the recordings).
        async function refreshThumbs() {
          for (const img of document.querySelectorAll("img[data-thumb]")) {
            const id = img.dataset.thumb;
            try {
              const r = await fetch("/v1/recordings/live/" + encodeURIComponent(id) + ".jpg", { cache: "no-store" });
              if (!r.ok) continue;
              const url = URL.createObjectURL(await r.blob());
              if (C.thumbs[id]) URL.revokeObjectURL(C.thumbs[id]);
              C.thumbs[id] = url;
              for (const shown of document.querySelectorAll('img[data-thumb="' + CSS.escape(id) + '"]')) shown.src = url;
            } catch (e) { /* next round */ }
          }
          setTimeout(refreshThumbs, 2000);
        }
        const PHASES = { draft: "未开始", checkIn: "签到", discipline: "宣读纪律与承诺", leaderElection: "推选组长", qualification: "资格审查", compliance: "符合性审查",
          clarification: "澄清", negotiationRounds: "磋商/谈判", finalQuotes: "最后报价", scoring: "评分", review: "复核", ranking: "排序", report: "报告",
          signing: "签署报告", closed: "已结束", failed: "废标/终止", halted: "暂停", suspended: "暂停（等待替补）", reformed: "重新组建", reevaluation: "重新评审" };
        const PAGES = { waiting: "等待", checkin: "签到", "checkin-sign": "签到签名", handwriting: "手写签名", "checkin-confirm": "确认签到", discipline: "阅读纪律",
          "commitment-sign": "签署承诺书", ballot: "推选组长", qualification: "资格审查", compliance: "符合性审查", scoring: "评分", review: "复核",
          ranking: "结果", signing: "签署报告", "report-sign": "报告签名", signed: "已签字", closed: "已结束" };

        async function refreshRoom() {
          const room = await api("GET", "/v1/room");
          if (room.status !== 200) { el("stations").innerHTML = '<p class="error">' + esc(message(room)) + "</p>"; return; }
          el("who").textContent = room.body.room.name + " · " + room.body.room.id;
          const devices = Object.fromEntries((room.body.devices || []).map((d) => [d.id, d]));
          const seats = C.view ? Object.fromEntries(Object.entries(C.view.seats || {}).map(([m, s]) => [s, m])) : {};
          const members = C.view ? Object.fromEntries(C.view.members.map((m) => [m.id, m])) : {};
          el("stations").innerHTML = room.body.stations.map((s) => {
            const d = devices[s.id] || {}, member = members[seats[s.id]];
            const online = s.state === "online";
            const locked = s.locked === true;
            return '<div class="card station ' + (online ? "online" : "") + '"><h3>' + esc(s.id) + " " + (online ? '<span class="pill">在线</span>' : '<span class="pill bad">离线</span>') + "</h3>" +
              (d.state ? '<img class="thumb" data-thumb="' + esc(s.id) + '" alt="' + esc(s.id) + ' 摄像头画面"' + (C.thumbs[s.id] ? ' src="' + C.thumbs[s.id] + '"' : "") + ">" : "") +
              "<div>" + (member ? esc(member.name) + "（" + esc(member.id) + "）" : '<span class="muted">无人签到</span>') + "</div>" +
              '<div class="muted">页面：' + esc(PAGES[s.page] || s.page || "—") + "</div>" +
              '<div class="muted">最后在线：' + esc(s.lastSeen ? new Date(s.lastSeen).toLocaleTimeString("zh-CN") : "—") + "</div>" +
              "<div>" + (d.state === "recording" ? '<span class="pill">录像中</span>' : '<span class="pill bad">' + esc(d.state || "无设备") + "</span>") +
              (locked ? '<span class="pill bad">已锁定</span>' : "") + "</div>" +
              '<button class="secondary" data-lock="' + esc(s.id) + '" data-verb="' + (locked ? "unlock" : "lock") + '">' + (locked ? "解锁" : "锁定") + "</button></div>";
          }).join("");
          for (const b of el("stations").querySelectorAll("button[data-lock]")) b.onclick = async () => {
            const body = {};
            if (b.dataset.verb === "lock") { const reason = prompt("锁定原因（将显示在终端上）：", "评审暂停，请稍候"); if (reason === null) return; body.reason = reason; }
            const answer = await api("POST", "/v1/stations/" + encodeURIComponent(b.dataset.lock) + "/" + b.dataset.verb, body);
            if (answer.status === 200) refreshRoom(); else alert(message(answer));
          };
        }

        async function refreshSessions() {
          const list = await api("GET", "/v1/sessions");
          if (list.status !== 200) { el("sessions").innerHTML = '<p class="error">' + esc(message(list)) + "</p>"; return; }
          if (!list.body.length) { el("sessions").innerHTML = '<p class="muted">暂无场次。场次定义由政府采购云平台推送，或用 roomctl session import 导入。</p>'; return; }
          el("sessions").innerHTML = "<table><tr><th>场次</th><th>项目</th><th>包</th><th>阶段</th><th>操作数</th><th>问题</th><th></th></tr>" + list.body.map((s) =>
            "<tr><td>" + esc(s.session) + "</td><td>" + esc(s.projectName) + "</td><td>" + esc(s.lot) + "</td><td>" + esc(PHASES[s.phase] || s.phase) + "</td><td>" + s.events + "</td><td>" +
            (s.violations.length ? '<span class="error">' + s.violations.map((v) => esc(v.message)).join("<br>") + "</span>" : "—") + '</td><td><button data-open="' + esc(s.session) + '">查看</button></td></tr>').join("") + "</table>";
          for (const b of el("sessions").querySelectorAll("button[data-open]")) b.onclick = () => select(b.dataset.open);
          if (!C.session && list.body.length) select(list.body[list.body.length - 1].session);
        }

        async function select(id) {
          if (C.session !== id) {
            C.session = id;
            if (C.source) C.source.close();
            C.source = new EventSource("/v1/sessions/" + encodeURIComponent(id) + "/stream");
            C.source.addEventListener("session", () => { refreshSession(); refreshSessions(); });
          }
          await refreshSession();
        }

        async function refreshSession() {
          const view = await api("GET", "/v1/sessions/" + encodeURIComponent(C.session));
          if (view.status !== 200) { el("session").innerHTML = '<p class="error">' + esc(message(view)) + "</p>"; return; }
          C.view = view.body;
          const plan = await api("GET", "/v1/sessions/" + encodeURIComponent(C.session) + "/seats");
          C.plan = plan.status === 200 ? plan.body : null;
          const s = C.view.summary;
          el("session-card").hidden = el("actions-card").hidden = false;
          el("session-title").textContent = s.session + " · " + s.projectName + " · " + s.lot + " · 当前阶段：" + (PHASES[s.phase] || s.phase);
          const seat = (m) => m.station || (C.plan && C.plan.seats[m.id] ? C.plan.seats[m.id] + (C.plan.method === "drawn" ? "（抽签）" : "（指定）") : "—");
          el("session").innerHTML = (C.plan && C.plan.seed ? '<p class="muted">座位抽签种子：' + esc(C.plan.seed) + "</p>" : "") +
            "<table><tr><th>成员</th><th>角色</th><th>终端</th><th>签到</th><th>承诺书</th><th>评分提交</th><th>报告</th></tr>" + C.view.members.map((m) =>
            "<tr><td>" + esc(m.name) + "（" + esc(m.id) + (C.view.leader === m.id ? "，组长" : "") + "）</td><td>" + (m.role === "expert" ? "评审专家" : "采购人代表") + "</td><td>" + esc(seat(m)) +
            "</td><td>" + (m.checkedIn ? "✓" : "") + "</td><td>" + (m.commitmentSigned ? "✓" : "") + "</td><td>" + (m.submitted ? "✓" : "") + "</td><td>" + esc({ signed: "已签字", dissented: "不同意见", deemedAgreed: "视为同意" }[m.signed] || "") + "</td></tr>").join("") + "</table>" +
            (s.violations.length ? '<h3>场次定义的问题（须更正后才能开始）</h3><ul class="error">' + s.violations.map((v) => "<li>" + esc(v.message) + "</li>").join("") + "</ul>" : "");
          renderActions(s.phase);
          refreshRoom();
        }

        async function send(cmd) {
          el("err").textContent = ""; el("done").textContent = "";
          const answer = await api("POST", "/v1/sessions/" + encodeURIComponent(C.session) + "/commands", { command: cmd });
          if (answer.status === 201 || answer.status === 200) { el("done").textContent = "已执行。"; await refreshSession(); return true; }
          el("err").textContent = message(answer);
          return false;
        }

        const bidderOptions = () => ((C.view.result && C.view.result.current && C.view.result.current.bidders) || []).map((b) => b.id);

        function renderActions(phase) {
          const buttons = [];
          const add = (label, cmd, cls) => buttons.push({ label, cmd, cls });
          if (phase === "draft") add("开始评审", { openSession: {} });
          const anyoneIn = C.view.members.some((m) => m.station);
          if ((phase === "draft" || phase === "checkIn") && !anyoneIn) buttons.push({ label: "随机抽取座位", seats: true });
          if (phase === "qualification") add("结束资格审查", { concludeQualification: {} });
          if (phase === "compliance" || phase === "clarification") add("结束符合性审查", { concludeCompliance: {} });
          if (phase === "negotiationRounds") { add("开始新一轮磋商/谈判", { openNegotiationRound: {} }); add("结束磋商/谈判，进入最后报价", { closeNegotiationRounds: {} }); }
          if (phase === "finalQuotes") add("结束最后报价", { concludeFinalQuotes: {} });
          if (phase === "review" || phase === "reevaluation") add("结束复核", { concludeReview: {} });
          if (phase === "ranking") add("确认排序", { confirmRanking: {} });
          if (phase === "report") add("开始签署报告", { startSigning: {} });
          let html = buttons.map((b, i) => '<button data-i="' + i + '">' + esc(b.label) + "</button>").join("");
          if (["negotiationRounds", "finalQuotes"].includes(phase)) {
            html += '<h3>记录报价</h3><label for="q-bidder">投标人编号</label><input type="text" id="q-bidder"><label for="q-price">报价（元）</label><input type="text" id="q-price">' +
              '<button id="quote">' + (phase === "finalQuotes" ? "记录最后报价" : "记录本轮报价") + "</button>";
          }
          if (phase === "ranking") {
            html += '<h3>抽签（并列时）</h3><label for="seed">随机数种子（现场公开产生）</label><input type="text" id="seed"><label for="witness">见证人</label><input type="text" id="witness"><button id="draw">抽签</button>';
          }
          const bidders = ((C.view.result && C.view.result.current && C.view.result.current.bidders) || []).map((b) => b.id);
          const bidderField = (id) => '<input type="text" id="' + id + '" placeholder="投标人编号' + (bidders.length ? "（" + esc(bidders.join("、")) + "）" : "") + '">';
          if (["compliance", "clarification", "finalQuotes"].includes(phase)) {
            html += '<h3>书面澄清（第五十一条）</h3><label for="cl-id">澄清编号</label><input type="text" id="cl-id" placeholder="如 Q1">' +
              '<label for="cl-bidder">投标人编号</label>' + bidderField("cl-bidder") + '<label for="cl-question">澄清问题</label><textarea id="cl-question"></textarea>' +
              '<label for="cl-minutes">答复时限（分钟）</label><input type="text" id="cl-minutes" value="30"><button class="secondary" id="cl-ask">发出澄清</button>' +
              '<label for="cl-answer">供应商答复（记录书面答复）</label><textarea id="cl-answer"></textarea><label for="cl-signer">答复签署人</label><input type="text" id="cl-signer">' +
              '<button class="secondary" id="cl-record">记录答复</button>';
          }
          if (["negotiationRounds", "finalQuotes"].includes(phase)) {
            html += '<h3>供应商退出</h3><label for="wd-bidder">投标人编号</label>' + bidderField("wd-bidder") + '<label for="wd-reason">原因</label><input type="text" id="wd-reason"><button class="secondary" id="withdraw">记录退出</button>';
          }
          if (phase === "suspended") {
            html += '<h3>更换评审成员（第四十九条）</h3><label for="rp-out">被更换成员编号</label><input type="text" id="rp-out">' +
              '<label for="rp-id">替补成员编号（名单编号）</label><input type="text" id="rp-id"><label for="rp-name">姓名</label><input type="text" id="rp-name">' +
              '<label for="rp-affiliation">工作单位</label><input type="text" id="rp-affiliation"><button class="secondary" id="replace">记录更换</button>';
          }
          html += '<h3>记录情况</h3><label for="obs-member">成员编号</label><input type="text" id="obs-member"><label for="obs-note">情况说明</label><textarea id="obs-note"></textarea><button class="secondary" id="observe">记录</button>' +
            '<h3>其他操作（JSON，见 docs/formats.md）</h3><textarea id="raw" placeholder=\'{"requestClarification": {...}}\'></textarea><button class="secondary" id="send-raw">发送</button>' +
            '<h3>终止</h3><label for="why">原因</label><input type="text" id="why"><button class="danger" id="halt">暂停评审</button><button class="danger" id="fail">宣布废标/终止</button>';
          el("actions").innerHTML = html;
          for (const b of el("actions").querySelectorAll("button[data-i]")) b.onclick = async () => {
            const chosen = buttons[Number(b.dataset.i)];
            if (!chosen.seats) return send(chosen.cmd);
            el("err").textContent = ""; el("done").textContent = "";
            const drawn = await api("POST", "/v1/sessions/" + encodeURIComponent(C.session) + "/seats", { draw: true });
            if (drawn.status === 200) { el("done").textContent = "座位已抽取并记录。"; refreshSession(); } else el("err").textContent = message(drawn);
          };
          if (el("quote")) el("quote").onclick = () => send(phase === "finalQuotes" ? { submitFinalQuote: { bidder: el("q-bidder").value.trim(), price: el("q-price").value.trim() } }
                                                                                   : { recordRoundQuote: { bidder: el("q-bidder").value.trim(), price: el("q-price").value.trim() } });
          if (el("draw")) el("draw").onclick = () => { const seed = Number(el("seed").value.trim()); if (!Number.isSafeInteger(seed) || seed < 0) { el("err").textContent = "种子须为非负整数。"; return; }
            send({ drawLottery: { seed, witness: el("witness").value.trim() } }); };
          const value = (id) => el(id).value.trim();
          if (el("cl-ask")) el("cl-ask").onclick = () => {
            const minutes = Number(value("cl-minutes"));
            if (!Number.isInteger(minutes) || minutes <= 0) { el("err").textContent = "答复时限须为正整数分钟。"; return; }
            send({ requestClarification: { id: value("cl-id"), bidder: value("cl-bidder"), purpose: "general", question: value("cl-question"), deadline: Date.now() + minutes * 60000 } });
          };
          if (el("cl-record")) el("cl-record").onclick = () => send({ answerClarification: { id: value("cl-id"), answer: value("cl-answer"), signedBy: value("cl-signer") } });
          if (el("withdraw")) el("withdraw").onclick = () => send({ withdrawBidder: { bidder: value("wd-bidder"), reason: value("wd-reason") } });
          if (el("replace")) el("replace").onclick = () => send({ replaceMember: { replaced: value("rp-out"),
            replacement: { id: value("rp-id"), name: value("rp-name"), role: "expert", affiliation: value("rp-affiliation") } } });
          el("observe").onclick = () => send({ recordObservation: { member: el("obs-member").value.trim(), note: el("obs-note").value.trim() } });
          el("send-raw").onclick = () => { let cmd; try { cmd = JSON.parse(el("raw").value); } catch (e) { el("err").textContent = "JSON 格式错误。"; return; } send(cmd); };
          el("halt").onclick = () => { if (confirm("确认暂停评审？")) send({ halt: { reason: el("why").value.trim() } }); };
          el("fail").onclick = () => { if (confirm("确认宣布废标/终止？此操作不可撤销。")) send({ declareFailure: { reason: el("why").value.trim() } }); };
        }

        window.addEventListener("load", () => {
          refreshRoom(); refreshSessions(); setInterval(refreshRoom, 5000); setTimeout(refreshThumbs, 500);
          el("send-broadcast").onclick = async () => {
            const answer = await api("POST", "/v1/stations/message", { text: el("broadcast").value.trim() });
            el("broadcast-done").textContent = answer.status === 200 ? "已发送。" : message(answer);
          };
        });
        """#
}

enum PageScript {
    /// What both pages use: the API call, escaping, the refusal's Chinese message, the notice bar.
    static let common = #"""
        "use strict";
        // roomd pages: plain scripts, no framework, nothing from outside the room.
        const el = (id) => document.getElementById(id);
        const esc = (t) => String(t ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

        async function api(method, path, body) {
          const init = { method, headers: {} };
          if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
          let response;
          try { response = await fetch(path, init); } catch (e) { return { status: 0, body: { message: "无法连接评标室服务器，请检查网络后重试。" } }; }
          let data = {};
          try { data = await response.json(); } catch (e) { data = {}; }
          return { status: response.status, body: data };
        }
        const message = (answer) => (answer.body && answer.body.message) || ("操作失败（" + answer.status + "），请重试。");
        function notice(text) { const n = el("notice"); n.textContent = text; n.style.display = text ? "block" : "none"; }
        """#
}
