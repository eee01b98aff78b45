"""What the browser tests share: a headless Chromium per client, each with its
own HOME holding an NSS database with only that client's certificate and the
room CA, so the browser itself presents the certificate (the policy file
AutoSelectCertificateForUrls, written by the Swift test, picks it)."""
import os, subprocess, sys, time

os.environ["SE_OFFLINE"] = "true"
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def install_certificate(work, pki, client, home, run):
    """The client's certificate and the room CA into HOME's NSS database; a
    station exactly as `roomctl station kiosk` tells the installer (GUIDE.txt)."""
    nssdb = f"{home}/.pki/nssdb"
    os.makedirs(nssdb, exist_ok=True)
    run("certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password")
    kiosk = f"{work}/kiosk/{client}"
    if os.path.exists(f"{kiosk}/{client}.p12"):
        password = [line.split(":", 1)[1].strip() for line in open(f"{kiosk}/GUIDE.txt", encoding="utf-8") if "password:" in line][0]
        run("pk12util", "-i", f"{kiosk}/{client}.p12", "-d", f"sql:{nssdb}", "-W", password)
        run("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "roomd-room-ca", "-t", "C,,", "-i", f"{kiosk}/room-ca.crt")
    else:
        p12 = f"{home}/{client}.p12"
        run("openssl", "pkcs12", "-export", "-in", f"{pki}/clients/{client}.crt", "-inkey", f"{pki}/clients/{client}.key",
            "-out", p12, "-passout", "pass:", "-name", client)
        run("pk12util", "-i", p12, "-d", f"sql:{nssdb}", "-W", "")
        run("certutil", "-A", "-d", f"sql:{nssdb}", "-n", "room-ca", "-t", "C,,", "-i", f"{pki}/room-ca.crt")


def chromium(home, window="1366,768", arguments=(), environment=None, downloads=None):
    """Headless Chromium (Debian's, driven by its own chromedriver) with HOME as given; files the
    pages offer are saved into `downloads` without asking when it is given."""
    options = Options()
    if downloads:
        options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
    options.binary_location = "/usr/lib/chromium/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={home}/profile",
                     f"--window-size={window}", "--lang=zh-CN", "--no-first-run", "--disable-background-networking", *arguments]:
        options.add_argument(argument)
    service = Service(executable_path="/usr/bin/chromedriver", env=dict(os.environ, HOME=home, **(environment or {})))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    if downloads:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return driver


class Story:
    """What a browser driver keeps as it goes: its browsers (quit on failure), numbered screenshots
    of every step, commands that must succeed, and waits that say what the page showed when they
    timed out. `describe(driver)` adds to a timeout's message; `on_fail()` runs before the browsers quit."""

    def __init__(self, shots, describe=None, on_fail=None):
        self.shots, self.step, self.drivers = shots, 0, []
        self.describe, self.on_fail = describe or (lambda driver: ""), on_fail
        os.makedirs(shots, exist_ok=True)

    def run(self, *args):
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            self.fail(f"{' '.join(args[:3])} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def fail(self, message):
        if self.on_fail:
            try:
                self.on_fail()
            except Exception:
                pass
        for driver in self.drivers:
            try:
                driver.quit()
            except Exception:
                pass
        raise SystemExit(message)

    def browser(self, work, pki, client, home, **options):
        """A Chromium presenting `client`'s certificate from its own NSS database in `home`."""
        install_certificate(work, pki, client, home, self.run)
        driver = chromium(home, **options)
        self.drivers.append(driver)
        return driver

    def quit(self, driver):
        driver.quit()
        self.drivers.remove(driver)

    def shot(self, driver, name):
        self.step += 1
        label = f"{driver.who}-{name}" if hasattr(driver, "who") else name
        print(f"{time.strftime('%H:%M:%S')} {self.step:02d} {label}", file=sys.stderr, flush=True)
        driver.save_screenshot(f"{self.shots}/{self.step:02d}-{label}.png")

    def wait(self, driver, condition, what, timeout=20):
        try:
            # A live update may re-render the page between finding an element and reading it: try again.
            return WebDriverWait(driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=[StaleElementReferenceException]).until(lambda d: condition(d))
        except TimeoutException:
            self.shot(driver, "timeout")
            body = driver.find_element(By.TAG_NAME, "body").text
            self.fail(f"{self.describe(driver)}page shows:\n{body[:3000]}\ntimed out waiting for {what}")
