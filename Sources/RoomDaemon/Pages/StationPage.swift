/// The station page: what an expert sees at an evaluation PC, from check-in
/// to signing the report. The server is the source of truth: every step is
/// read back from `GET /v1/sessions/<s>/station` after each action and on
/// each live update, so a reload, a crashed browser or a rebooted PC shows
/// exactly where the expert was. Drafts are saved on every change.
enum StationPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>评审终端</title>
        <link rel="stylesheet" href="/assets/room.css">
        <script src="/assets/room.js" defer></script>
        <script src="/assets/station.js" defer></script>
        </head>
        <body>
        <header><h1 id="title">政府采购评审终端</h1><div class="who" id="who"></div></header>
        <main id="main"><div class="card big">正在连接评标室服务器…</div></main>
        <div id="notice" role="status"></div>
        </body>
        </html>
        """

    static let script = #"""
        "use strict";
        // roomd station page (after /assets/room.js).
        const S = { session: null, view: null, control: null, page: "connecting", tab: null, busy: false, source: null, drafts: {}, timers: {}, challenge: null };
        const main = () => document.getElementById("main");
        function requestID() { return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9-]/g, "").slice(0, 60); }

        async function command(cmd, errorBox) {
          if (S.busy) return false;
          S.busy = true;
          const answer = await api("POST", "/v1/sessions/" + encodeURIComponent(S.session) + "/station/commands", { command: cmd, requestID: requestID() });
          S.busy = false;
          if (answer.status === 201 || answer.status === 200) { await load(); return true; }
          if (errorBox) el(errorBox).textContent = message(answer); else notice(message(answer));
          return false;
        }

        async function sha256Hex(text) {
          const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
          return Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, "0")).join("");
        }

        async function load() {
          const control = await api("GET", "/v1/station/control");
          if (control.status === 200) S.control = control.body;
          const current = await api("GET", "/v1/station/session");
          if (current.status !== 200) { S.session = null; S.view = null; render(); return; }
          if (S.session !== current.body.session) { S.session = current.body.session; listen(); }
          const view = await api("GET", "/v1/sessions/" + encodeURIComponent(S.session) + "/station");
          if (view.status === 200) { S.view = view.body; notice(""); } else { notice(message(view)); }
          render();
        }

        function listen() {
          if (S.source) S.source.close();
          S.source = new EventSource("/v1/sessions/" + encodeURIComponent(S.session) + "/stream");
          S.source.addEventListener("session", () => { if (!S.busy && !S.editing) load(); });
          S.source.onerror = () => notice("与评标室服务器的连接中断，正在重新连接…");
          S.source.onopen = () => notice("");
        }

        function heartbeat() {
          api("POST", "/v1/station/heartbeat", { page: S.page, session: S.session || "", at: Date.now() });
        }

        // The station camera's latest picture on the check-in pages, once a
        // second while an <img id="camera"> is on the page.
        let cameraLoop = false, cameraURL = "";
        async function refreshCamera() {
          const img = el("camera");
          if (!img) { cameraLoop = false; return; }
          try {
            const r = await fetch("/v1/station/picture", { cache: "no-store" });
            if (r.ok) {
              const old = cameraURL;
              cameraURL = URL.createObjectURL(await r.blob());
              (el("camera") || img).src = cameraURL;
              if (old) URL.revokeObjectURL(old);
              (el("camera") || img).dataset.updated = String(Date.now());
              el("camera-note").textContent = "本终端摄像头实时画面：请正对摄像头，签到时的画面随录像保存。";
            } else {
              el("camera-note").textContent = "摄像头暂无画面，请告知操作员检查本终端摄像头。";
            }
          } catch (e) { /* next round */ }
          setTimeout(refreshCamera, 1000);
        }
        function setPage(name, html) {
          if (S.page !== name) { S.page = name; heartbeat(); }
          // The operator's messages of the last ten minutes, newest first, above the page.
          const recent = ((S.control && S.control.messages) || []).filter((m) => Date.now() - m.at < 600000);
          main().innerHTML = (recent.length ? '<div class="card" id="messages"><h3>操作员通知</h3>' +
            recent.map((m) => "<p>" + esc(new Date(m.at).toLocaleTimeString("zh-CN")) + "　" + esc(m.text) + "</p>").join("") + "</div>" : "") + html;
          if (el("camera") && cameraURL) el("camera").src = cameraURL;
          if (el("camera") && !cameraLoop) { cameraLoop = true; refreshCamera(); }
        }

        function render() {
          const v = S.view;
          el("who").textContent = v ? ((v.memberName ? v.memberName + " · " : "") + "终端 " + v.station) : "";
          if (S.control && S.control.locked) return setPage("locked", '<div class="card big">本终端已锁定。<br><span class="muted">' +
            esc(S.control.reason || "请等待代理机构操作员解锁。") + "</span></div>");
          if (!S.session || !v) return setPage("waiting", '<div class="card big">当前没有进行中的评审。<br><span class="muted">请等待代理机构操作员开始评审。</span></div>');
          const phase = v.phase;
          if (phase === "draft") return setPage("waiting", '<div class="card big">评审尚未开始，请稍候。</div>');
          if (["closed"].includes(phase)) return setPage("closed", '<div class="card big">评审已结束，评审报告已确认。<br><span class="muted">感谢您的工作。请勿关闭本终端。</span></div>');
          if (phase === "failed" || phase === "halted") return setPage("ended", '<div class="card big">评审已终止或暂停。<br><span class="muted">请听从代理机构操作员的安排。</span></div>');
          if (!v.member) return renderIdentify();
          if (!v.checkedIn) return renderCheckInCommand();
          if (phase === "checkIn" || phase === "reformed") return setPage("waiting-checkin", '<div class="card big">您已签到。<br><span class="muted">请等待其他评审成员签到。</span></div>');
          if (!v.commitmentSigned && (phase === "discipline" || phase === "suspended")) return renderDiscipline();
          if (phase === "suspended") return setPage("suspended", '<div class="card big">评审暂停，等待更换评审成员。</div>');
          if (phase === "discipline") return setPage("waiting-discipline", '<div class="card big">您已签署承诺书。<br><span class="muted">请等待其他评审成员。</span></div>');
          if (phase === "leaderElection") return v.voted ? setPage("waiting-vote", '<div class="card big">您已投票，请等待推选结果。</div>') : renderBallot();
          if (phase === "qualification") return v.tender ? setPage("waiting-qualification", '<div class="card big">资格审查由采购人或代理机构进行，请稍候。</div>') : renderReview("qualification");
          if (phase === "compliance" || phase === "clarification") return renderReview("compliance");
          if (phase === "negotiationRounds" || phase === "finalQuotes") return setPage("negotiation", '<div class="card big">磋商/谈判进行中。<br><span class="muted">报价由代理机构操作员记录。</span></div>');
          if (phase === "scoring" && S.challenge && S.challenge.purpose === "score-sheet") return renderChallenge("评分表", "sheet-sign");
          if (phase === "scoring") return v.submitted ? setPage("waiting-scores", '<div class="card big">您的评分已提交。<br><span class="muted">全部成员提交后显示评分汇总。</span></div>') : renderScoring();
          if (phase === "review" || phase === "reevaluation") return renderSummary();
          if (phase === "ranking") return renderRanking("等待操作员确认排序。");
          if (phase === "report") return renderRanking("报告已生成，等待开始签署。");
          if (phase === "signing") return renderSigning();
          setPage("other", '<div class="card big">当前阶段：' + esc(phase) + '</div>');
        }

        // — Check-in: name and ID number → roster entry → cloud-signature QR → handwriting.
        function renderIdentify() {
          if (S.challenge && S.challenge.purpose === "checkin") return renderChallenge("签到", "checkin-sign");
          setPage("checkin", '<div class="card"><h2>专家签到</h2>' +
            '<p class="muted">请输入您的姓名和身份证号码，然后用云签名App扫描二维码完成签到。身份证号码只用于核对名单，不会被保存或显示。</p>' +
            '<div class="camera"><img id="camera" alt="本终端摄像头画面"><div class="muted" id="camera-note">本终端摄像头实时画面：请正对摄像头，签到时的画面随录像保存。</div></div>' +
            '<label for="name">姓名</label><input type="text" id="name" autocomplete="off">' +
            '<label for="idnumber">身份证号码</label><input type="text" id="idnumber" autocomplete="off" maxlength="18">' +
            '<div><button id="go">下一步</button></div><div class="error" id="err"></div></div>');
          el("go").onclick = async () => {
            el("err").textContent = "";
            const found = await api("POST", "/v1/checkin/identify", { session: S.session, name: el("name").value.trim(), idNumber: el("idnumber").value.trim() });
            if (found.status !== 200) { el("err").textContent = message(found); return; }
            await startChallenge(found.body.rosterEntry, "checkin", null, "err");
          };
        }

        async function startChallenge(entry, purpose, document, errorBox) {
          const body = { session: S.session, rosterEntry: entry, purpose };
          if (document) body.documentSHA256 = document;
          const issued = await api("POST", "/v1/checkin/challenges", body);
          if (issued.status !== 201) { el(errorBox).textContent = message(issued); return; }
          S.challenge = Object.assign({ entry }, issued.body);
          render();
        }

        function renderChallenge(what, page) {
          const c = S.challenge;
          setPage(page, '<div class="card"><h2>云签名：' + esc(what) + '</h2><div class="qr">' +
            '<img alt="签名二维码" src="' + esc(c.qrSVG) + '">' +
            '<div><p>请打开云签名App，扫描左侧二维码并确认签名。</p><p class="muted">二维码有效期至 ' + esc(new Date(c.expiresAt).toLocaleTimeString("zh-CN")) + '，过期后请点击“重新生成二维码”。</p>' +
            '<details><summary>签名内容</summary><pre id="signed" class="muted">' + esc(c.signed) + '</pre></details>' +
            '<label for="sig">签名数据（由云签名App回传；演示时粘贴 roomctl expert sign 的输出）</label>' +
            '<textarea id="sig" spellcheck="false"></textarea>' +
            '<div><button id="send">提交签名</button><button class="secondary" id="renew">重新生成二维码</button><button class="secondary" id="cancel">返回</button></div>' +
            '<div class="error" id="err"></div></div></div></div>');
          el("renew").onclick = () => startChallenge(c.entry, c.purpose, c.purpose === "checkin" ? null : c.documentSHA256, "err");
          el("cancel").onclick = () => { S.challenge = null; render(); };
          el("send").onclick = async () => {
            el("err").textContent = "";
            const text = el("sig").value.trim();
            let answer;
            if (text.startsWith("{")) { try { answer = JSON.parse(text); } catch (e) { el("err").textContent = "签名数据格式错误。"; return; } }
            else answer = { format: "cms", signature: text.replace(/\s+/g, "") };
            const verdict = await api("POST", c.qrSVG.replace(/\/qr\.svg$/, "/answer"), answer);
            if (verdict.status === 200) {
              S.challenge = null;
              if (c.purpose === "checkin") { S.handwritingFor = verdict.body.signature; return renderHandwriting(); }
              if (S.afterSignature) { const next = S.afterSignature; S.afterSignature = null; return next(verdict.body); }
              return load();
            }
            el("err").textContent = message(verdict) + (verdict.body.reason === "challenge-expired" ? " 请点击“重新生成二维码”。" : "");
          };
        }

        function renderHandwriting() {
          setPage("handwriting", '<div class="card"><h2>手写签名</h2><p>请在下框中用鼠标或手写板签名。</p>' +
            '<canvas class="pad" id="pad" width="600" height="240"></canvas>' +
            '<div><button id="save">确认签名</button><button class="secondary" id="clear">重写</button></div><div class="error" id="err"></div></div>');
          const pad = el("pad"), ctx = pad.getContext("2d");
          let strokes = [], current = null;
          const start = performance.now();
          const point = (e) => { const r = pad.getBoundingClientRect(); const p = { x: (e.clientX - r.left) * 600 / r.width, y: (e.clientY - r.top) * 240 / r.height, t: Math.max(0, performance.now() - start) };
            if (e.pressure > 0 && e.pointerType === "pen") p.p = e.pressure; return p; };
          pad.onpointerdown = (e) => { pad.setPointerCapture(e.pointerId); current = [point(e)]; strokes.push(current); };
          pad.onpointermove = (e) => { if (!current) return; const p = point(e); const last = current[current.length - 1];
            if (p.x < -16 || p.y < -16 || p.x > 616 || p.y > 256) return;
            ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke(); current.push(p); };
          pad.onpointerup = () => { current = null; };
          el("clear").onclick = () => { strokes = []; ctx.clearRect(0, 0, 600, 240); };
          el("save").onclick = async () => {
            const saved = await api("POST", "/v1/checkin/signatures/" + S.handwritingFor + "/handwriting", { width: 600, height: 240, strokes });
            if (saved.status !== 201 && saved.body.error !== "handwriting-exists") { el("err").textContent = message(saved); return; }
            await load();
          };
        }

        function renderCheckInCommand() {
          const me = (S.view.members || []).find((m) => m.id === S.view.member);
          const rep = me && me.role === "purchaserRepresentative";
          setPage("checkin-confirm", '<div class="card"><h2>确认签到</h2><p>云签名已核验：' + esc(S.view.memberName) + '（名单编号 ' + esc(S.view.member) + '）。</p>' +
            '<div class="camera"><img id="camera" alt="本终端摄像头画面"><div class="muted" id="camera-note">本终端摄像头实时画面：请正对摄像头，签到时的画面随录像保存。</div></div>' +
            (rep ? '<label for="letter">授权函（编号及内容摘要）</label><textarea id="letter"></textarea>' : '') +
            '<button id="ok">确认签到</button><div class="error" id="err"></div></div>');
          el("ok").onclick = () => command({ checkIn: rep ? { member: S.view.member, authorizationLetter: el("letter").value.trim() } : { member: S.view.member } }, "err");
        }

        // — Discipline (scrolled to the end, minimum time), then commitment letter signed in the cloud.
        const DISCIPLINE = ["评审专家应当遵守评审工作纪律，按照客观、公正、审慎的原则，根据采购文件规定的评审程序、评审方法和评审标准进行独立评审。",
          "评审专家不得私下接触供应商，不得收受供应商及有关业务单位和个人的财物或者其他不正当利益，不得泄露评审文件、评审情况和评审中获悉的商业秘密。",
          "评审专家与参加采购活动的供应商存在利害关系的，应当主动提出回避。",
          "评审期间，评审专家应当关闭并上交通讯工具，不得离开评审现场，不得记录、复制或者带走任何评审资料。",
          "评审专家对本人的评审意见承担法律责任；对需要共同认定的事项存在争议的，应当按照少数服从多数的原则作出结论，持不同意见的专家应当在评审报告上签署不同意见及理由。",
          "评审过程全程录音录像，录像资料作为政府采购档案保存。"];
        const LETTER = "本人承诺：已阅读并遵守评审工作纪律；与参加本项目的供应商不存在利害关系，如存在将主动回避；独立、客观、公正地履行评审职责，对评审意见承担法律责任。";

        function renderDiscipline() {
          if (S.challenge && S.challenge.purpose === "commitment-letter") return renderChallenge("评审承诺书及回避声明", "commitment-sign");
          const minimum = S.view.disciplineMinimumSeconds || 0;
          S.disciplineShown = S.disciplineShown || Date.now();
          setPage("discipline", '<div class="card"><h2>评审工作纪律</h2><div class="scroll" id="rules">' +
            DISCIPLINE.map((p, i) => "<p>" + (i + 1) + ". " + esc(p) + "</p>").join("") + "<p class=\"muted\">— 以上为全部内容 —</p></div>" +
            '<h3>评审承诺书及回避声明</h3><p>' + esc(LETTER) + '</p>' +
            '<button id="next" disabled>我已阅读，签署承诺书</button><span class="muted" id="wait"></span>' +
            '<h3>申请回避</h3><p class="muted">如与供应商存在利害关系，请选择供应商和回避事由：</p>' +
            '<select id="bidder">' + S.view.bidders.map((b) => '<option value="' + esc(b.id) + '">' + esc(b.name) + "</option>").join("") + "</select>" +
            '<select id="ground"><option value="employmentOrControl">三年内曾在该供应商任职、担任董事监事或控股</option><option value="familyRelation">与供应商负责人存在近亲属关系</option><option value="otherRelationship">其他可能影响公正评审的关系</option></select>' +
            '<button class="danger" id="recuse">申请回避</button><div class="error" id="err"></div></div>');
          let scrolled = false;
          const rules = el("rules");
          const update = () => {
            const left = Math.max(0, Math.ceil(minimum - (Date.now() - S.disciplineShown) / 1000));
            if (rules.scrollTop + rules.clientHeight >= rules.scrollHeight - 4) scrolled = true;
            el("next").disabled = !(scrolled && left === 0);
            el("wait").textContent = !scrolled ? " 请将纪律内容滚动到底部" : (left > 0 ? " 请继续阅读 " + left + " 秒" : "");
          };
          rules.onscroll = update;
          clearInterval(S.timers.discipline);
          S.timers.discipline = setInterval(() => { if (!el("rules")) return clearInterval(S.timers.discipline); update(); }, 500);
          update();
          el("next").onclick = async () => {
            const digest = await sha256Hex(LETTER);
            S.afterSignature = () => command({ signCommitment: { member: S.view.member, disciplineRead: true, commitmentSigned: true, noConflictDeclared: true } });
            await startChallenge(S.view.member, "commitment-letter", digest, "err");
          };
          el("recuse").onclick = () => {
            const bidder = el("bidder").value, ground = el("ground").value;
            if (!confirm("确认申请回避？提交后您将退出本次评审。")) return;
            command({ declareConflict: { member: S.view.member, ground, note: "申请回避：供应商 " + bidder } }, "err");
          };
        }

        function renderBallot() {
          const candidates = S.view.members.filter((m) => m.role === "expert");
          setPage("ballot", '<div class="card"><h2>推选评审组长</h2><p class="muted">采购人代表不得担任组长。</p>' +
            candidates.map((m) => '<label><input type="radio" name="leader" value="' + esc(m.id) + '"> ' + esc(m.name) + "</label>").join("") +
            '<button id="vote">投票</button><div class="error" id="err"></div></div>');
          el("vote").onclick = () => {
            const chosen = document.querySelector("input[name=leader]:checked");
            if (!chosen) { el("err").textContent = "请选择一位候选人。"; return; }
            command({ castLeaderVote: { voter: S.view.member, candidate: chosen.value } }, "err");
          };
        }

        // — Qualification / compliance: pass or fail per bidder and item, a reason for each failure.
        function renderReview(kind) {
          const v = S.view, items = kind === "qualification" ? v.qualificationItems : v.complianceItems;
          const marks = kind === "qualification" ? v.qualificationMarks : v.complianceMarks;
          const title = kind === "qualification" ? "资格性审查" : "符合性审查";
          const bidders = v.bidders.filter((b) => b.inPlay);
          let rows = "";
          for (const b of bidders) for (const item of items) {
            const key = b.id + "|" + item.id, mark = marks[key];
            rows += "<tr><td>" + esc(b.name) + "</td><td>" + esc(item.name) + "</td><td>" + (mark === undefined ? '<span class="muted">未审查</span>' : (mark ? '<span class="ok">通过</span>' : '<span class="error">不通过</span>')) +
              '</td><td><button data-b="' + esc(b.id) + '" data-i="' + esc(item.id) + '" data-p="1">通过</button><button class="danger" data-b="' + esc(b.id) + '" data-i="' + esc(item.id) + '" data-p="0">不通过</button></td></tr>';
          }
          const clarifications = (v.clarifications || []).map((c) => "<li>" + esc((v.bidders.find((b) => b.id === c.bidder) || {}).name || c.bidder) + "：" + esc(c.question) +
            (c.answer ? '<br><span class="ok">答复（' + esc(c.signedBy) + "）：" + esc(c.answer) + "</span>" : '<br><span class="muted">等待答复，截止 ' + esc(new Date(c.deadline).toLocaleString("zh-CN")) + "</span>") + "</li>").join("");
          setPage(kind, '<div class="card"><h2>' + title + '</h2><table><tr><th>投标人</th><th>审查项</th><th>结论</th><th>操作</th></tr>' + rows +
            '</table><p class="muted">不通过须填写理由。全部审查完成后由操作员结束本阶段。</p>' +
            (clarifications ? "<h3>澄清记录</h3><ul>" + clarifications + "</ul>" : "") + '<div class="error" id="err"></div></div>');
          for (const button of main().querySelectorAll("button[data-b]")) {
            button.onclick = () => {
              const passed = button.dataset.p === "1";
              let reason = null;
              if (!passed) { reason = prompt("请填写不通过的理由："); if (!reason || !reason.trim()) { el("err").textContent = "不通过必须填写理由。"; return; } }
              const args = { bidder: button.dataset.b, item: button.dataset.i, member: v.member, passed };
              if (reason) args.reason = reason.trim();
              command(kind === "qualification" ? { recordQualification: Object.assign(args, { evidence: [] }) } : { markCompliance: args }, "err");
            };
          }
        }

        // — Scoring: one sheet per bidder, every change saved as a draft and checked at once.
        function renderScoring() {
          const v = S.view, bidders = v.bidders.filter((b) => b.inPlay);
          if (!S.tab || !bidders.some((b) => b.id === S.tab)) S.tab = bidders.length ? bidders[0].id : null;
          const b = bidders.find((x) => x.id === S.tab);
          const draft = Object.assign({}, (v.sheets || {})[S.tab] || {}, (v.drafts || {})[S.tab] || {}, S.drafts[S.tab] || {});
          const entered = bidders.filter((x) => (v.sheets || {})[x.id]).length;
          let rows = "";
          for (const c of v.criteria) {
            const hint = c.allowedValues ? "可选：" + c.allowedValues.join(" / ") : "0 – " + c.maximum;
            rows += "<tr><td>" + esc(c.name) + (c.kind === "objective" ? ' <span class="pill">客观</span>' : ' <span class="pill">主观</span>') + '</td><td class="num">' + esc(c.maximum) +
              '</td><td><input type="text" inputmode="decimal" data-c="' + esc(c.id) + '" value="' + esc(draft[c.id] ?? "") + '" aria-label="' + esc(c.name) + '"><div class="error" id="e-' + esc(c.id) + '"></div></td><td class="muted">' + esc(hint) + "</td></tr>";
          }
          setPage("scoring", '<div class="card"><h2>评分</h2><div class="tabs">' +
            bidders.map((x) => '<button class="' + (x.id === S.tab ? "current" : "") + '" data-tab="' + esc(x.id) + '">' + esc(x.name) + ((v.sheets || {})[x.id] ? " ✓" : "") + "</button>").join("") +
            "</div>" + (b ? "<h3>" + esc(b.name) + '</h3><table><tr><th>评分项</th><th class="num">分值</th><th>得分</th><th>说明</th></tr>' + rows + "</table>" : "") +
            '<div><span class="muted" id="saved"></span></div><button id="enter">保存本投标人评分表</button><button id="submit" ' + (entered === bidders.length ? "" : "disabled") + '>提交全部评分（' + entered + "/" + bidders.length + "）</button>" +
            '<p class="muted">价格分由系统按评分办法计算。提交后不能修改。</p><div class="error" id="err"></div></div>');
          for (const t of main().querySelectorAll("button[data-tab]")) t.onclick = () => { S.tab = t.dataset.tab; render(); };
          for (const input of main().querySelectorAll("input[data-c]")) {
            input.oninput = () => {
              S.drafts[S.tab] = S.drafts[S.tab] || {};
              S.drafts[S.tab][input.dataset.c] = input.value;
              S.editing = true;
              clearTimeout(S.timers.save);
              const bidder = S.tab;
              S.timers.save = setTimeout(() => saveDraft(bidder), 250);
            };
          }
          el("enter").onclick = async () => {
            await saveDraft(S.tab);
            const scores = {};
            for (const c of v.criteria) { const value = (S.drafts[S.tab] || {})[c.id] ?? draft[c.id]; if (value !== undefined && String(value).trim() !== "") scores[c.id] = String(value).trim(); }
            if (await command({ enterScoreSheet: { member: v.member, bidder: S.tab, scores } }, "err")) el("saved") && (el("saved").textContent = "评分表已保存。");
          };
          el("submit").onclick = () => {
            if (!confirm("确认提交全部评分？提交后不能修改。")) return;
            S.afterSignature = () => command({ submitScores: { member: v.member } });
            startChallenge(v.member, "score-sheet", v.sheetsSHA256, "err");
          };
        }

        async function saveDraft(bidder) {
          const scores = Object.assign({}, (S.view.drafts || {})[bidder] || {}, S.drafts[bidder] || {});
          const saved = await api("PUT", "/v1/sessions/" + encodeURIComponent(S.session) + "/drafts/" + encodeURIComponent(bidder), { scores });
          S.editing = false;
          for (const box of main().querySelectorAll("div[id^=e-]")) box.textContent = "";
          if (saved.status === 200) {
            S.view.drafts = S.view.drafts || {};
            S.view.drafts[bidder] = scores;
            if (el("saved")) el("saved").textContent = "草稿已自动保存 " + new Date(saved.body.savedAt).toLocaleTimeString("zh-CN");
          } else if (saved.status === 422 && saved.body.problems) {
            for (const p of saved.body.problems) if (el("e-" + p.criterion)) el("e-" + p.criterion).textContent = p.message;
            if (el("saved")) el("saved").textContent = "有不符合评分标准的分数，未保存，请修改。";
          } else if (el("saved")) el("saved").textContent = message(saved);
        }

        // — Review: everyone's scores, objective disagreements and 畸高畸低 flags (87号令 64).
        function renderSummary() {
          const v = S.view, s = v.summary;
          if (!s) return setPage("review", '<div class="card big">评分汇总中…</div>');
          const name = (id) => ((v.members.find((m) => m.id === id) || {}).name || id);
          const bidderName = (id) => ((v.bidders.find((b) => b.id === id) || {}).name || id);
          let rows = "";
          for (const b of s.bidders) rows += "<tr><td>" + esc(bidderName(b.bidder)) + "</td>" + v.members.map((m) => '<td class="num">' + esc(num(b.memberTotals[m.id])) + "</td>").join("") + '<td class="num">' + esc(num(b.priceScore)) + '</td><td class="num">' + esc(num(b.total)) + "</td></tr>";
          let flags = "";
          for (const f of s.flags) {
            const mine = f.member === v.member, leader = v.leader === v.member;
            flags += "<li>" + esc(name(f.member)) + " 对 " + esc(bidderName(f.bidder)) + (f.criterion ? " 的评分项 " + esc(f.criterion) : " 的总分") + " 评分 " + esc(num(f.value)) + "，参考值 " + esc(num(f.reference)) +
              (f.kept ? ' <span class="ok">已保留：' + esc(f.kept.reason) + "</span>" : (mine && f.criterion ? ' <button data-revise="' + esc(f.id) + '" data-b="' + esc(f.bidder) + '" data-c="' + esc(f.criterion) + '">修改本人评分</button>' : "") + (leader ? ' <button class="secondary" data-keep="' + esc(f.id) + '">评审委员会决定保留</button>' : "")) + "</li>";
          }
          let disagreements = "";
          for (const d of s.disagreements) {
            disagreements += "<li>" + esc(bidderName(d.bidder)) + " 客观项 " + esc(d.criterion) + " 评分不一致：" + Object.entries(d.scores).map(([m, x]) => esc(name(m)) + " " + esc(num(x))).join("，") +
              (d.scores[v.member] !== undefined ? ' <button data-revise="' + esc(d.bidder + ":" + d.criterion) + '" data-b="' + esc(d.bidder) + '" data-c="' + esc(d.criterion) + '" data-r="64.3">修改本人评分</button>' : "") + "</li>";
          }
          setPage("review", '<div class="card"><h2>评分汇总</h2><table><tr><th>投标人</th>' + v.members.map((m) => '<th class="num">' + esc(m.name) + "</th>").join("") + '<th class="num">价格分</th><th class="num">总分</th></tr>' + rows + "</table>" +
            (flags ? "<h3>畸高畸低评分（第六十四条）</h3><ul>" + flags + "</ul>" : "") + (disagreements ? "<h3>客观评分不一致（第六十四条）</h3><ul>" + disagreements + "</ul>" : "") +
            (!flags && !disagreements ? '<p class="ok">无需复核的评分。等待操作员结束复核。</p>' : "") + '<div class="error" id="err"></div></div>');
          for (const button of main().querySelectorAll("button[data-revise]")) button.onclick = () => {
            const value = prompt("修改后的分数："); if (value === null) return;
            const decision = prompt("评审委员会认定意见："); if (!decision) { el("err").textContent = "须填写评审委员会认定意见。"; return; }
            command({ reviseScore: { member: v.member, bidder: button.dataset.b, criterion: button.dataset.c, value: value.trim(), reason: button.dataset.r || "64.4", panelDecision: decision } }, "err");
          };
          for (const button of main().querySelectorAll("button[data-keep]")) button.onclick = () => {
            const reason = prompt("保留理由："); if (!reason) return;
            command({ keepAbnormalScore: { flag: button.dataset.keep, reason } }, "err");
          };
        }

        function num(text) {
          if (text === undefined || text === null) return "";
          const s = String(text);
          if (!s.includes("/")) return s;
          const [n, d] = s.split("/").map(Number);
          return (n / d).toFixed(2);
        }

        function rankingTable() {
          const rows = (S.view.ranking || []).map((b) => "<tr><td>" + (b.rank ?? "待定") + "</td><td>" + esc(b.name) + '</td><td class="num">' + esc((b.display || {}).total || "") + "</td><td>" + (b.candidate ? "是" : "") + "</td></tr>").join("");
          return '<table><tr><th>排名</th><th>投标人</th><th class="num">总分</th><th>推荐候选</th></tr>' + rows + "</table>";
        }

        function renderRanking(text) {
          setPage("ranking", '<div class="card"><h2>评审结果</h2>' + rankingTable() + '<p class="muted">' + esc(text) + "</p></div>");
        }

        function renderSigning() {
          const v = S.view;
          if (S.challenge && S.challenge.purpose === "report") return renderChallenge("评审报告", "report-sign");
          if (v.signature) {
            const leader = v.leader === v.member;
            setPage("signed", '<div class="card"><h2>评审报告</h2>' + rankingTable() + '<p class="ok">您已' + (v.signature === "dissented" ? "签署不同意见" : "签字") + "。</p>" +
              (leader ? '<button id="confirm" ' + (v.everyoneSigned ? "" : "disabled") + '>组长确认评审报告</button><span class="muted">' + (v.everyoneSigned ? "" : " 等待全部成员签字") + "</span>" : '<p class="muted">等待组长确认。</p>') +
              '<div class="error" id="err"></div></div>');
            if (leader && el("confirm")) el("confirm").onclick = () => command({ leaderConfirm: { member: v.member } }, "err");
            return;
          }
          setPage("signing", '<div class="card"><h2>签署评审报告</h2>' + rankingTable() +
            '<p><a href="/v1/sessions/' + encodeURIComponent(S.session) + '/report.pdf" target="_blank" rel="noopener">查看评审报告全文（PDF）</a></p>' +
            '<p class="muted">报告摘要（SHA-256）：' + esc(v.reportSHA256) + "</p>" +
            '<button id="sign">用云签名签署报告</button><h3>不同意见</h3><textarea id="reasons" placeholder="如对评审结论有不同意见，请写明理由"></textarea><button class="danger" id="dissent">签署不同意见</button><div class="error" id="err"></div></div>');
          el("sign").onclick = () => {
            S.afterSignature = () => command({ sign: { member: v.member, signature: "cloud" } });
            startChallenge(v.member, "report", v.reportSHA256, "err");
          };
          el("dissent").onclick = () => {
            const reasons = el("reasons").value.trim();
            if (!reasons) { el("err").textContent = "不同意见须写明理由。"; return; }
            command({ dissent: { member: v.member, reasons } }, "err");
          };
        }

        window.addEventListener("load", () => { load(); setInterval(heartbeat, 20000); });
        """#
}
