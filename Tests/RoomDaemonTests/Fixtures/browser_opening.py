#!/usr/bin/python3
"""A whole opening (开标) in real browsers: the operator's console and four suppliers' pages.

Each client is a headless Chromium with its own HOME (an NSS database holding only its client
certificate and the room CA; AutoSelectCertificateForUrls, written by the caller, picks it): the
operator's console (/opening) with the operator's certificate, and one supplier page
(/opening/supplier) per supplier with the platform's certificate, as the platform's hall relays it.
The suppliers' USBKeys are played by key files: what the page offers as a file (the sign-in
content, the sealed bid, the read-out, the objection) is signed with `roomctl expert sign --format
cms` or opened with `roomctl supplier decrypt`, and the result goes back through the page's file
inputs.

The story: A (RSA) first uploads a signature over other bytes and is refused, then signs in; B
(ECDSA), C (SM2) and D (ECDSA) sign in; the operator's countdown reaches the bid deadline and the
operator starts; A first uploads the sealed bid itself as its "summary" (refused, recorded), then
the real one; B and C decrypt; D does nothing and the window closes by roomd's clock; A and C
confirm the read-out, B objects; the operator concludes. The console's board is checked after every
step. Saves a screenshot of every step into SHOTS.

usage: browser_opening.py WORK PORT ROOMCTL OPENING SHOTS SUPPLIERS_JSON
  SUPPLIERS_JSON: {letter: {code, name, key, cert, algorithm, encryptionKey, encryptionCert, summarySHA256}}
Prints one JSON line at the end: {"ok": true, ...} or exits non-zero.
"""
import hashlib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_common import Story
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

work, port, roomctl, opening, shots, suppliers_path = sys.argv[1:7]
suppliers = json.load(open(suppliers_path, encoding="utf-8"))
pki = f"{work}/pki"
base = f"https://127.0.0.1:{port}"
story = Story(shots)
run, fail, shot, wait = story.run, story.fail, story.shot, story.wait
report = {}


def browser(client, name):
    home = f"{work}/browsers/{name}"
    downloads = f"{home}/downloads"
    os.makedirs(downloads, exist_ok=True)
    driver = story.browser(work, pki, client, home, window="1366,1800", environment={"TZ": "Asia/Shanghai"}, downloads=downloads)
    driver.downloads = downloads
    driver.who = name
    return driver


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def download(driver, link_id):
    """Clicks a link the page offers a file through; waits for the whole file; its path."""
    link = driver.find_element(By.ID, link_id)
    wait(driver, lambda d: (link.get_attribute("href") or "").startswith("blob:"), f"#{link_id} to offer a file")
    name = link.get_attribute("download")
    path = f"{driver.downloads}/{name}"
    if os.path.exists(path):
        os.remove(path)
    link.click()
    wait(driver, lambda d: os.path.exists(path) and not os.path.exists(path + ".crdownload"), f"{name} downloaded")
    return path


def sign(letter, path):
    """The supplier's USBKey: a detached CMS signature with its signing key (RSA, ECDSA or SM2)."""
    s = suppliers[letter]
    out = path + ".p7s"
    run(roomctl, "expert", "sign", "--key", s["key"], "--cert", s["cert"], "--algorithm", s["algorithm"], "--format", "cms",
        "--in", path, "--out", out)
    return out


def board_status(letter):
    cell = operator.find_elements(By.CSS_SELECTOR, f'#board tr[data-supplier="{suppliers[letter]["code"]}"] td[data-field="status"]')
    return cell[0].text if cell else ""


def board_answer(letter):
    cell = operator.find_elements(By.CSS_SELECTOR, f'#board tr[data-supplier="{suppliers[letter]["code"]}"] td[data-field="answer"]')
    return cell[0].text if cell else ""


def board_shows(letter, wanted, what, timeout=20):
    wait(operator, lambda d: board_status(letter).startswith(wanted), f"the console's board to show {letter} {what}", timeout)


def accept_confirm(driver):
    def alert(d):
        try:
            return d.switch_to.alert
        except NoAlertPresentException:
            return False
    wait(driver, alert, "the confirmation dialog").accept()


# --- The operator's console -----------------------------------------------------------------------------------

operator = browser("operator", "operator")
operator.get(f"{base}/opening?opening={opening}")
wait(operator, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#board tr[data-supplier]")) == len(suppliers), "the board of four suppliers")
for letter in suppliers:
    if board_status(letter) != "未签到":
        fail(f"{letter} is shown as {board_status(letter)!r} before anyone signed in")
# The countdown runs on the server's clock: the page's offset is the server's, and what it shows is the deadline less that time.
clock = js(operator, "return { deadline: O.view.deadline, now: serverNow(), offset: O.offset, label: el('countdown-label').textContent,"
                     " shown: el('countdown').textContent }")
left = (clock["deadline"] - clock["now"]) / 1000
h, m, s = (int(x) for x in clock["shown"].split(":"))
if clock["label"] != "距投标截止" or abs(h * 3600 + m * 60 + s - left) > 1.5 or abs(clock["offset"]) > 2000:
    fail(f"the countdown to the bid deadline is wrong: {clock}")
report["countdownAtStart"] = clock["shown"]
shot(operator, "before-sign-in")

# --- The suppliers sign in ------------------------------------------------------------------------------------

pages = {}
for letter in suppliers:
    page = browser("platform", f"supplier-{letter}")
    page.get(f"{base}/opening/supplier?opening={opening}")
    wait(page, lambda d: js(d, "return O.view !== null") and d.find_element(By.ID, "countdown-label").text == "距投标截止",
         "the supplier page's countdown")
    pages[letter] = page


def get_challenge(page):
    page.find_element(By.ID, "get-challenge").click()
    wait(page, lambda d: d.find_element(By.ID, "challenge").is_displayed() and text(d, "challenge-text"), "the sign-in content")
    shown = js(page, "return el('challenge-text').textContent")
    path = download(page, "challenge-file")
    if open(path, "rb").read() != shown.encode():
        fail(f"the sign-in file is not the content shown: {open(path, 'rb').read()[:200]!r} / {shown[:200]!r}")
    if json.loads(shown).get("opening") != opening:
        fail(f"the sign-in content names another opening: {shown}")
    return path


def submit_signature(page, field, button, signature):
    page.find_element(By.ID, field).send_keys(signature)
    page.find_element(By.ID, button).click()


for letter, page in pages.items():
    if letter == "A":
        # A signature over other bytes: refused, in Chinese, and the next try needs new content.
        get_challenge(page)
        other = f"{page.downloads}/other.txt"
        open(other, "w", encoding="utf-8").write("另一份文件")
        submit_signature(page, "signin-file", "signin", sign(letter, other))
        refused = wait(page, lambda d: text(d, "signin-err"), "the refusal of a signature over other bytes")
        if "签名验证失败" not in refused or "重新获取签到内容" not in refused:
            fail(f"the refused sign-in says: {refused}")
        report["signInRefusal"] = refused
        shot(page, "sign-in-refused")
    path = get_challenge(page)
    submit_signature(page, "signin-file", "signin", sign(letter, path))
    done = wait(page, lambda d: text(d, "signin-ok") or text(d, "signin-err"), f"{letter}'s sign-in")
    if "签到成功" not in done or suppliers[letter]["code"] not in done:
        fail(f"{letter} did not sign in: {done}")
    wait(page, lambda d: suppliers[letter]["name"] in text(d, "who"), f"{letter}'s page to name the supplier")
    shot(page, "signed-in")
    board_shows(letter, "已签到", "signed in")
shot(operator, "all-signed-in")

# --- The deadline, the start, decryption ----------------------------------------------------------------------

deadline_in = (js(operator, "return O.view.deadline - serverNow()")) / 1000
report["secondsLeftAfterSignIn"] = round(deadline_in, 1)
wait(operator, lambda d: text(d, "countdown-label") == "投标截止时间已到", "the countdown to reach the deadline", timeout=deadline_in + 10)
shot(operator, "deadline")
operator.find_element(By.ID, "start").click()
wait(operator, lambda d: text(d, "phase") == "解密" and text(d, "countdown-label") == "距解密截止", "the decryption countdown")
window_left = js(operator, "return O.view.windowEnd - serverNow()") / 1000
if not 30 < window_left <= 60.5:
    fail(f"the decryption window shows {window_left} s left just after the start")
shot(operator, "decryption-started")

for letter in ["A", "B", "C"]:
    page, s = pages[letter], suppliers[letter]
    wait(page, lambda d: d.find_element(By.ID, "bid-download").is_enabled(), f"{letter}'s page to offer the sealed bid")
    page.find_element(By.ID, "bid-download").click()
    sealed = f"{page.downloads}/{s['code']}-sealed-bid.p7m"
    wait(page, lambda d: os.path.exists(sealed) and not os.path.exists(sealed + ".crdownload"), f"{letter}'s sealed bid downloaded")
    if letter == "A":
        # The sealed bid itself is not the summary: refused with the reason, recorded, shown on the board.
        page.find_element(By.ID, "summary-file").send_keys(sealed)
        page.find_element(By.ID, "upload-summary").click()
        refused = wait(page, lambda d: text(d, "decrypt-err"), "the refusal of a wrong summary")
        if "摘要值不一致" not in refused or "已记入开标记录" not in refused:
            fail(f"the wrong summary's refusal says: {refused}")
        report["decryptionRefusal"] = refused
        board_shows("A", "解密失败：", "failed with the reason")
        shot(page, "wrong-summary-refused")
    summary = f"{page.downloads}/{s['code']}-summary.json"
    run(roomctl, "supplier", "decrypt", "--key", s["encryptionKey"], "--cert", s["encryptionCert"], "--in", sealed, "--out", summary,
        "--expect-sha256", s["summarySHA256"])
    page.find_element(By.ID, "summary-file").send_keys(summary)
    page.find_element(By.ID, "upload-summary").click()
    done = wait(page, lambda d: text(d, "decrypt-ok") or text(d, "decrypt-err"), f"{letter}'s decryption")
    if "解密成功" not in done:
        fail(f"{letter}'s decryption was not accepted: {done}")
    board_shows(letter, "已解密", "decrypted")
    shot(page, "decrypted")
if board_status("D") != "等待解密":
    fail(f"D (not decrypting) shows {board_status('D')!r}")
shot(operator, "three-decrypted")

# D never decrypts: roomd's clock closes decryption when the window ends.
wait(operator, lambda d: text(d, "phase") == "开标记录确认", "decryption closed by roomd's clock", timeout=window_left + 15)
board_shows("D", "超时未解密：", "timed out")
report["timedOut"] = board_status("D")
rows = {r.get_attribute("data-supplier"): r for r in operator.find_elements(By.CSS_SELECTOR, "#record tr[data-supplier]")}
invalid = operator.find_elements(By.CSS_SELECTOR, f'#record tr[data-invalid="{suppliers["D"]["code"]}"]')
if sorted(rows) != sorted(suppliers[x]["code"] for x in "ABC") or not invalid or "未在解密时限" not in invalid[0].text:
    fail(f"the console's record is not A, B, C opened and D not opened: {text(operator, 'record')}")
flagged = [code for code, row in rows.items() if "flagged" in (row.get_attribute("class") or "")]
if flagged != [suppliers["C"]["code"]] or "不一致" not in rows[suppliers["C"]["code"]].text:
    fail(f"the figures/words flag is on {flagged}, expected C's bid only: {text(operator, 'record')}")
report["flag"] = rows[suppliers["C"]["code"]].text
shot(operator, "record")

# --- Confirmations and an objection ---------------------------------------------------------------------------

for letter in ["A", "C"]:
    page = pages[letter]
    wait(page, lambda d: d.find_element(By.ID, "answer").is_displayed(), f"{letter}'s page to ask for an answer")
    readout = download(page, "readout-file")
    sha = hashlib.sha256(open(readout, "rb").read()).hexdigest()
    if sha != text(page, "readout-sha"):
        fail(f"the read-out file's SHA-256 {sha} is not the one the page names {text(page, 'readout-sha')}")
    report["readoutSHA256"] = sha
    submit_signature(page, "confirm-file", "confirm", sign(letter, readout))
    done = wait(page, lambda d: text(d, "answer-ok") or text(d, "answer-err"), f"{letter}'s confirmation")
    if "已确认" not in done:
        fail(f"{letter}'s confirmation was not accepted: {done}")
    wait(operator, lambda d: board_answer(letter) == "已确认", f"the board to show {letter}'s confirmation")
    shot(page, "confirmed")

objection = "我公司对开标记录中丙公司报价大小写不一致的处理有异议，请予复核。"
page = pages["B"]
wait(page, lambda d: d.find_element(By.ID, "answer").is_displayed(), "B's page to ask for an answer")
page.find_element(By.ID, "objection-text").send_keys(objection)
page.find_element(By.ID, "objection-prepare").click()
objection_file = download(page, "objection-file")
if open(objection_file, encoding="utf-8").read() != objection:
    fail("the objection file is not the text typed")
submit_signature(page, "objection-sig-file", "object", sign("B", objection_file))
done = wait(page, lambda d: text(d, "answer-ok") or text(d, "answer-err"), "B's objection")
if "异议已提交" not in done:
    fail(f"B's objection was not accepted: {done}")
wait(operator, lambda d: board_answer("B").startswith("提出异议") and objection in board_answer("B"), "the board to show B's objection")
shot(page, "objected")
shot(operator, "answers")

operator.find_element(By.ID, "conclude").click()
accept_confirm(operator)
wait(operator, lambda d: text(d, "phase") == "开标结束", "the opening concluded")
if "结束开标：已执行" not in text(operator, "done"):
    fail(f"the console does not say the opening was concluded: {text(operator, 'done')} {text(operator, 'err')}")
shot(operator, "concluded")
for driver in list(story.drivers):
    story.quit(driver)
print(json.dumps(dict(ok=True, screenshots=story.step, **report), ensure_ascii=False))
