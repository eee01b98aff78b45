#!/usr/bin/python3
"""A whole 综合评分法 session in real browsers: five stations and the operator.

Each station is its own headless Chromium with its own HOME (an NSS database
holding only that station's client certificate and the room CA) and profile;
the browser presents the certificate itself (AutoSelectCertificateForUrls,
the policy file the caller wrote), so TLS is the browser's, not a proxy's.
The expert's cloud-sign app is played by `roomctl expert sign`: the page shows
what is to be signed, the script signs it and pastes the answer, as the app's
relay would. Saves a screenshot of every step into SHOTS.

usage: browser_session.py WORK PORT ROOMCTL SESSION SHOTS
Prints one JSON line at the end: {"ok": true, ...} or exits non-zero.
"""
import json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_common import chromium, install_certificate
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

work, port, roomctl, session, shots = sys.argv[1:6]
pki = f"{work}/pki"
base = f"https://127.0.0.1:{port}"
os.makedirs(shots, exist_ok=True)
experts = {"E01": ("张三", "11010519491231002X"), "E02": ("李四", "110101198003071239"), "E03": ("王五", "320102197510104569"),
           "E04": ("赵六", "150102197805061234"), "E05": ("钱七", "150203198209142341")}
stations = {m: f"S0{i}" for i, m in enumerate(experts, 1)}
step = [0]


def run(*args):
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed: {done.stderr}")
    return done.stdout


def browser(client):
    home = f"{work}/browsers/{client}"
    install_certificate(work, pki, client, home, run)
    return chromium(home)


def shot(driver, name):
    step[0] += 1
    driver.save_screenshot(f"{shots}/{step[0]:02d}-{name}.png")


def wait(driver, condition, what, timeout=30):
    try:
        # A live update may re-render the page between finding an element and reading it: try again.
        return WebDriverWait(driver, timeout, poll_frequency=0.2,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda d: condition(d))
    except TimeoutException:
        shot(driver, "timeout")
        body = driver.find_element(By.TAG_NAME, "body").text
        raise SystemExit(f"timed out waiting for {what}; page shows:\n{body[:2000]}")


def page(driver, name):
    """Waits until the station page reports `name` (it sets S.page and re-renders)."""
    wait(driver, lambda d: d.execute_script("return typeof S === 'object' && S.page") == name, f"page {name}")


def element(driver, element_id):
    return wait(driver, lambda d: (d.find_elements(By.ID, element_id) or [None])[0], f"#{element_id}")


def sign_on_page(driver, member, name):
    """The page shows a challenge: sign what it shows as the member's cloud-sign app would, paste the answer, send."""
    signed = element(driver, "signed").get_attribute("textContent")
    shot(driver, name + "-qr")
    with open(f"{work}/to-sign.txt", "w", encoding="utf-8") as f:
        f.write(signed)
    run(roomctl, "expert", "sign", "--key", f"{pki}/experts/{member}.key", "--cert", f"{pki}/experts/{member}.crt",
        "--algorithm", "ecdsa", "--format", "cms", "--in", f"{work}/to-sign.txt", "--out", f"{work}/sig.b64", "--base64")
    driver.execute_script("document.getElementById('sig').value = arguments[0];", open(f"{work}/sig.b64").read().strip())
    click(driver, "send")


def click_css(driver, selector):
    """Finds and clicks, again if a live update re-rendered the page between the two."""
    def clicked(d):
        try:
            found = d.find_elements(By.CSS_SELECTOR, selector)
            if not found:
                return False
            found[0].click()
            return True
        except StaleElementReferenceException:
            return False
    wait(driver, clicked, f"click {selector}")


def click(driver, element_id):
    """Clicks #element_id once it is enabled (again if a live update re-rendered the page)."""
    def clicked(d):
        try:
            found = d.find_elements(By.ID, element_id)
            if not found or not found[0].is_enabled():
                return False
            found[0].click()
            return True
        except StaleElementReferenceException:
            return False
    wait(driver, clicked, f"#{element_id} enabled")


def type_into(driver, selector, value):
    """Replaces the text of an input (again if a live update re-rendered the page)."""
    def typed(d):
        try:
            box = d.find_element(By.CSS_SELECTOR, selector)
            box.clear()
            box.send_keys(value)
            return box.get_attribute("value") == value
        except StaleElementReferenceException:
            return False
    wait(driver, typed, f"typing into {selector}")


def accept_dialog(driver, text=None):
    alert = wait(driver, lambda d: d.switch_to.alert, "a dialog")
    if text is not None:
        alert.send_keys(text)
    alert.accept()


console = browser("operator")
console.get(base + "/console")
wait(console, lambda d: "开始评审" in d.find_element(By.TAG_NAME, "body").text, "the console's open button")
shot(console, "console")


def operate(label):
    wait(console, lambda d: any(b.text == label for b in d.find_elements(By.CSS_SELECTOR, "#actions button")), f"console button {label}")
    def press(d):
        try:
            [b for b in d.find_elements(By.CSS_SELECTOR, "#actions button") if b.text == label][0].click()
            return True
        except (StaleElementReferenceException, IndexError):
            return False
    wait(console, press, f"pressing {label}")
    wait(console, lambda d: d.find_element(By.ID, "done").text == "已执行。" or d.find_element(By.ID, "err").text, f"{label} answered")
    error = console.find_element(By.ID, "err").text
    if error:
        raise SystemExit(f"console {label}: {error}")
    shot(console, "console-" + label)


def operate_json(command):
    # Filled and sent in one step: a live update may re-render the console's forms in between otherwise.
    element(console, "raw")
    console.execute_script("document.getElementById('done').textContent = ''; document.getElementById('err').textContent = '';"
                           "document.getElementById('raw').value = arguments[0]; document.getElementById('send-raw').click();",
                           json.dumps(command, ensure_ascii=False))
    wait(console, lambda d: d.find_element(By.ID, "done").text == "已执行。" or d.find_element(By.ID, "err").text, "command answered")
    error = console.find_element(By.ID, "err").text
    if error:
        raise SystemExit(f"console {command}: {error}")


operate("开始评审")

browsers = {}
for member, (name, id_number) in experts.items():
    driver = browser(stations[member])
    browsers[member] = driver
    driver.get(base + "/station")
    page(driver, "checkin")
    shot(driver, f"{member}-checkin")
    type_into(driver, "#name", name)
    type_into(driver, "#idnumber", id_number)
    click(driver, "go")
    page(driver, "checkin-sign")
    sign_on_page(driver, member, f"{member}-checkin")
    page(driver, "handwriting")
    pad = element(driver, "pad")
    ActionChains(driver).move_to_element_with_offset(pad, -200, 0).click_and_hold().move_by_offset(60, 30).move_by_offset(60, -40) \
        .move_by_offset(80, 20).release().perform()
    shot(driver, f"{member}-handwriting")
    click(driver, "save")
    page(driver, "checkin-confirm")
    click(driver, "ok")
    wait(driver, lambda d: d.execute_script("return S.page") in ("waiting-checkin", "discipline"), "checked in")

for member, driver in browsers.items():
    page(driver, "discipline")
    shot(driver, f"{member}-discipline")
    driver.execute_script("const r = document.getElementById('rules'); r.scrollTop = r.scrollHeight; r.dispatchEvent(new Event('scroll'));")
    click(driver, "next")
    page(driver, "commitment-sign")
    sign_on_page(driver, member, f"{member}-commitment")
    wait(driver, lambda d: d.execute_script("return S.page") in ("waiting-discipline", "ballot"), "commitment signed")

for member, driver in browsers.items():
    page(driver, "ballot")
    click_css(driver, "input[name=leader][value=E01]")
    shot(driver, f"{member}-ballot")
    click(driver, "vote")
    wait(driver, lambda d: d.execute_script("return S.page") in ("waiting-vote", "waiting-qualification"), "voted")

# A tender: qualification is the agency's, recorded at the console (87号令 44).
for bidder in ["A", "B", "C"]:
    operate_json({"recordQualification": {"bidder": bidder, "item": "Q1", "passed": True, "evidence": ["营业执照副本"]}})
operate("结束资格审查")

for member, driver in browsers.items():
    page(driver, "compliance")
    for _ in range(3):
        count = len(driver.find_elements(By.CLASS_NAME, "ok"))
        def mark(d):
            try:
                unmarked = [b for b in d.find_elements(By.CSS_SELECTOR, "button[data-p='1']")
                            if b.find_element(By.XPATH, "../..").find_elements(By.CLASS_NAME, "muted")]
                if not unmarked:
                    return False
                unmarked[0].click()
                return True
            except StaleElementReferenceException:
                return False
        wait(driver, mark, "an unmarked bidder")
        wait(driver, lambda d: len(d.find_elements(By.CLASS_NAME, "ok")) > count, "the mark shown")
    shot(driver, f"{member}-compliance")
# A written clarification (51) from the console's form: asked, then the bidder's signed answer recorded;
# the stations show the record.
def console_form(fields, button):
    element(console, button)
    console.execute_script("document.getElementById('done').textContent = ''; document.getElementById('err').textContent = '';"
                           "for (const [k, v] of Object.entries(arguments[0])) document.getElementById(k).value = v;"
                           "document.getElementById(arguments[1]).click();", fields, button)
    wait(console, lambda d: d.find_element(By.ID, "done").text == "已执行。" or d.find_element(By.ID, "err").text, f"{button} answered")
    if console.find_element(By.ID, "err").text:
        raise SystemExit(f"console {button}: {console.find_element(By.ID, 'err').text}")

console_form({"cl-id": "Q1", "cl-bidder": "B", "cl-question": "请说明所投产品的交货期。", "cl-minutes": "30"}, "cl-ask")
console_form({"cl-id": "Q1", "cl-answer": "合同签订后15日内交货。", "cl-signer": "乙公司授权代表"}, "cl-record")
wait(browsers["E01"], lambda d: "合同签订后15日内交货" in d.find_element(By.TAG_NAME, "body").text, "the clarification record on the station")
shot(browsers["E01"], "E01-clarification")
shot(console, "console-clarification")
operate("结束符合性审查")

# Scores: T1 subjective (40), T2 objective {0,10,20}, C1 objective {0,5,10}. E05 scores A's T1 far above the others (a 畸高 flag).
# Others give A's T1 20 or 21; E05 gives 38: 17+ above the others' mean, more than 30% of 40 (an item flag),
# and E05's total for A (68) is more than 20% above the panel's mean (a total flag).
scores = {m: {"A": ["20", "20", "10"], "B": ["26", "10", "5"], "C": ["22", "10", "5"]} for m in experts}
scores["E02"]["A"][0] = "21"
scores["E03"]["B"][0] = "27"
scores["E05"]["A"][0] = "38"
for member, driver in browsers.items():
    page(driver, "scoring")
    for bidder in ["A", "B", "C"]:
        click_css(driver, f"button[data-tab='{bidder}']")
        wait(driver, lambda d: d.execute_script("return S.tab") == bidder, f"tab {bidder}")
        for criterion, value in zip(["T1", "T2", "C1"], scores[member][bidder]):
            type_into(driver, f"input[data-c='{criterion}']", value)
        wait(driver, lambda d: "草稿已自动保存" in d.find_element(By.ID, "saved").text, "draft saved")
        if member == "E02" and bidder == "B":
            # A reload mid-scoring keeps what was typed (the drafts are the server's).
            driver.refresh()
            page(driver, "scoring")
            click_css(driver, "button[data-tab='B']")
            wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "input[data-c='T1']").get_attribute("value") == "26", "the draft after a reload")
            shot(driver, "E02-reloaded-draft")
        if member == "E01" and bidder == "A":
            type_into(driver, "input[data-c='T2']", "15")
            wait(driver, lambda d: "可选" in d.find_element(By.ID, "e-T2").text or d.find_element(By.ID, "e-T2").text, "the inline refusal of 15")
            shot(driver, "E01-inline-error")
            type_into(driver, "input[data-c='T2']", "20")
            wait(driver, lambda d: d.find_element(By.ID, "e-T2").text == "" and "草稿已自动保存" in d.find_element(By.ID, "saved").text, "corrected")
        click(driver, "enter")
        wait(driver, lambda d: "✓" in d.find_element(By.CSS_SELECTOR, f"button[data-tab='{bidder}']").text, f"sheet {bidder} entered")
    shot(driver, f"{member}-scoring")
    click(driver, "submit")
    accept_dialog(driver)
    page(driver, "sheet-sign")
    sign_on_page(driver, member, f"{member}-sheets")
    wait(driver, lambda d: d.execute_script("return S.page") in ("waiting-scores", "review"), "submitted")

leader = browsers["E01"]
page(leader, "review")
shot(leader, "E01-review-flags")
flags = leader.find_elements(By.CSS_SELECTOR, "button[data-keep]")
if not flags:
    raise SystemExit("no 畸高畸低 flag was raised for E05's score")
kept = 0
while leader.find_elements(By.CSS_SELECTOR, "button[data-keep]"):
    click_css(leader, "button[data-keep]")
    accept_dialog(leader, "评审委员会讨论后认为该专家评分有依据，予以保留")
    kept += 1
    wait(leader, lambda d: len(d.find_elements(By.CSS_SELECTOR, "button[data-keep]")) < len(flags) - kept + 1, "the flag kept")
shot(leader, "E01-review-kept")
operate("结束复核")
operate("确认排序")
operate("开始签署报告")

for member, driver in browsers.items():
    page(driver, "signing")
    shot(driver, f"{member}-signing")
    click(driver, "sign")
    page(driver, "report-sign")
    sign_on_page(driver, member, f"{member}-report")
    page(driver, "signed")
page(leader, "signed")
click(leader, "confirm")
for member, driver in browsers.items():
    page(driver, "closed")
shot(leader, "E01-closed")
shot(console, "console-closed")
for driver in list(browsers.values()) + [console]:
    driver.quit()
print(json.dumps({"ok": True, "flagsKept": kept, "screenshots": step[0]}))
