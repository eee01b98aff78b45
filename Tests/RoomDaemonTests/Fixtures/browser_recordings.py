#!/usr/bin/python3
"""The supervisor's recordings page in a real browser, and a station refused it.

A headless Chromium with its own HOME (an NSS database holding only the
supervisor's client certificate and the room CA) loads /recordings; the
browser presents the certificate itself (AutoSelectCertificateForUrls, the
policy file the caller wrote). On the page: the timeline over the range the
caller recorded shows S01's killed helper as a 录像进程重启 gap; a click on
S02's bar plays the segment holding that moment from that moment, moves on to
the next segment at its end, and plays on from a click further along and from
a seek inside a segment; the live wall refreshes S02's picture about once a
second. Then a second Chromium with station S01's certificate (installed from
its kiosk folder) is refused the page. Saves a screenshot of every step into
SHOTS.

usage: browser_recordings.py WORK PORT SHOTS FROM_MS SEGMENTS_JSON
  FROM_MS: the range's start (ms since the epoch); it ends when the page is asked.
  SEGMENTS_JSON: S02's closed segments, [[id, start_ns, end_ns], ...], oldest first.
Prints one JSON line at the end: {"ok": true, ...} or exits non-zero.
"""
import json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_common import Story
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

work, port, shots, from_ms, segments_json = sys.argv[1:6]
from_ms = int(from_ms)
segments = json.loads(segments_json)
pki = f"{work}/pki"
base = f"https://127.0.0.1:{port}"
report = {}


def write_player_events():
    # The whole story of the player, for the record (the message keeps only the end of it).
    with open(f"{shots}/player-events.txt", "w") as f:
        f.write(player_log(page, 0, limit=100000) + "\n")


story = Story(shots, describe=lambda driver: f"player events (last 40):\n{player_log(driver)}\n", on_fail=write_player_events)
run, fail, shot, wait = story.run, story.fail, story.shot, story.wait


def browser(client):
    # The player starts on a click in the timeline, which may come before any gesture the page saw;
    # the room's clock: the page shows and reads local times (datetime-local), here China Standard Time.
    return story.browser(work, pki, client, f"{work}/browsers/{client}", window="1366,1700",
                         arguments=["--autoplay-policy=no-user-gesture-required"], environment={"TZ": "Asia/Shanghai"})


def player_log(driver, since=0, limit=40):
    """The player's events, one a line: time (ms since `since`), event, segment, currentTime, paused."""
    rows = driver.execute_script("return (window.__log || []).filter((e) => e.at >= arguments[0]).slice(-arguments[1])", since, limit) or []
    return "\n".join(f"{e['at'] - (since or rows[0]['at'])} {e['ev']} {e['src'].split('/segments/')[-1].split('/')[0]} "
                     f"t={e['t']:.3f} paused={e['paused']} d={e['duration']} err={e['error']}" for e in rows)


def js(driver, script, *args):
    return driver.execute_script(script, *args)


# --- The supervisor ---------------------------------------------------------------------------------------------

page = browser("supervisor")
page.get(base + "/recordings")
wait(page, lambda d: js(d, "return typeof R === 'object' && R.timeline !== null && R.devices.length > 0"), "the page's first timeline")
# Everything the player does, as it happens (the page's own handlers stay as they are).
js(page, """
  window.__log = [];
  const v = document.getElementById('player');
  for (const ev of ['loadedmetadata', 'seeking', 'seeked', 'playing', 'timeupdate', 'ended', 'error', 'pause'])
    v.addEventListener(ev, () => window.__log.push({ ev, src: v.currentSrc, t: v.currentTime, paused: v.paused, duration: v.duration,
                                                     error: v.error && v.error.code, at: Date.now() }));
""")
shot(page, "loaded")

# The range: from what the caller recorded to now, typed as local times (the page's own format), then 查询.
js(page, """
  document.getElementById('from').value = localInput(arguments[0]);
  document.getElementById('to').value = localInput(Date.now() + 1000);
  R.timeline = null;
  document.getElementById('show').click();
""", from_ms)
wait(page, lambda d: js(d, "return R.timeline !== null && document.getElementById('bar-S02') !== null"), "the timeline over the range")
range_from, range_to = js(page, "return [R.timeline.from, R.timeline.to]")
if abs(range_from // 1_000_000 - (from_ms // 1000) * 1000) > 0:
    fail(f"the page asked for a range from {range_from} ns, the local time typed was {from_ms} ms")
report["rangeSeconds"] = (range_to - range_from) / 1e9

# S01's killed helper: a gap with the reason on hover.
gap = wait(page, lambda d: (d.find_elements(By.CSS_SELECTOR, "#bar-S01 .gap-helper-restarted") or [None])[0], "S01's helper-restarted gap")
title = gap.get_attribute("title")
if "录像进程重启" not in title:
    fail(f"the gap's title does not name the reason: {title!r}")
report["gapTitle"] = title.split("\n")[0]
if page.find_elements(By.CSS_SELECTOR, "#bar-S02 .gap-helper-restarted"):
    fail("S02 (never killed) shows a helper-restarted gap")
if not page.find_elements(By.CSS_SELECTOR, "#bar-S01 .span-recorded") or not page.find_elements(By.CSS_SELECTOR, "#bar-S02 .span-recorded"):
    fail("no recorded span on the bars")
# Drawn where it happened: the gap's box on the bar is where its times are on the axis, and the spans fill the rest.
placed = js(page, """
  const t = R.timeline, bar = document.getElementById('bar-S01').getBoundingClientRect();
  const g = t.devices.find((d) => d.device === 'S01').gaps.find((g) => g.reason === 'helper-restarted');
  const box = document.querySelector('#bar-S01 .gap-helper-restarted').getBoundingClientRect();
  const x = (ns) => bar.left + (ns - t.from) / (t.to - t.from) * bar.width;
  const filled = (device) => [...document.querySelectorAll('#bar-' + device + ' .span-recorded')].reduce((w, s) => w + s.getBoundingClientRect().width, 0) / bar.width;
  return { left: box.left - x(g.start), right: box.right - Math.max(x(g.end), x(g.start) + bar.width * 0.0015), width: box.width,
           s01: filled('S01'), s02: filled('S02') };
""")
if placed["width"] < 1 or abs(placed["left"]) > 2 or abs(placed["right"]) > 2 or placed["s01"] < 0.3 or placed["s02"] < 0.5:
    fail(f"the timeline is not drawn where the recording is: {placed}")
report["timelineFilled"] = {"S01": round(placed["s01"], 2), "S02": round(placed["s02"], 2)}
ActionChains(page).move_to_element(gap).perform()
shot(page, "timeline-gap")


def recorded(device, at):
    """Whether wall time `at` (ns) is inside one of the device's recorded spans on the page."""
    return js(page, "return R.timeline.devices.find((d) => d.device === arguments[0]).spans"
                    ".some((s) => s.state === 'recorded' && s.start <= arguments[1] && arguments[1] < s.end)", device, at)


def click_bar(device, at):
    """Clicks the device's bar where wall time `at` (ns) is drawn. The player is paused first (as a person would
    before looking elsewhere), so that whatever it played before cannot be taken for what the click plays.
    Returns the time of the click (ms since the epoch)."""
    clicked = js(page, "document.getElementById('player').pause(); return Date.now()")
    print(f"{time.strftime('%H:%M:%S')} click {device} at {(at - range_from) / 1e9:.3f} s into the range", file=sys.stderr, flush=True)
    bar = page.find_element(By.ID, f"bar-{device}")
    width = js(page, "return arguments[0].getBoundingClientRect().width", bar)
    x = (at - range_from) / (range_to - range_from) * width
    under = js(page, """
      const r = arguments[0].getBoundingClientRect();
      return document.elementFromPoint(r.left + arguments[1], r.top + r.height / 2).className;
    """, bar, int(round(x)))
    if "span-recorded" not in under:
        fail(f"{device}'s bar at {at} ns ({x:.0f} px) shows {under!r}, not a recorded span")
    ActionChains(page).move_to_element_with_offset(bar, int(round(x - width / 2)), 0).click().perform()
    return clicked


def segment_near(fraction, avoid=()):
    """The closed S02 segment nearest `fraction` across the range: a whole one (the first after a start is shorter),
    and not the last (playback moves on to the next)."""
    wanted = range_from + fraction * (range_to - range_from)
    usable = [s for s in segments[:-1] if s[0] not in avoid and s[2] - s[1] >= 1_800_000_000 and recorded("S02", s[1] + (s[2] - s[1]) // 2)]
    if not usable:
        fail(f"no closed S02 segment to play among {segments}")
    chosen = min(usable, key=lambda s: abs((s[1] + s[2]) / 2 - wanted))
    print(f"{time.strftime('%H:%M:%S')} segment {chosen[0]}: {(chosen[1] - range_from) / 1e9:.3f}–{(chosen[2] - range_from) / 1e9:.3f} s "
          f"into the range (of {[s[0] for s in segments]})", file=sys.stderr, flush=True)
    return chosen


def src_of(segment):
    return f"/v1/recordings/segments/{segment[0]}/rendition.mp4"


def events(segment, since=0):
    return js(page, "return window.__log.filter((e) => e.src.endsWith(arguments[0]) && e.at >= arguments[1])", src_of(segment), since)


def plays_from(segment, offset, since, what, advance=0.5):
    """Waits until the player plays `segment` from `offset` s (never earlier) and its time advances by `advance` s."""
    def playing(d):
        seen = [e for e in events(segment, since) if e["ev"] == "timeupdate" and not e["paused"]]
        if any(e["t"] < offset - 0.1 for e in seen):
            fail(f"{what}: the player played segment {segment[0]} from {min(e['t'] for e in seen):.3f} s, not from {offset:.3f} s:\n"
                 f"{player_log(page, since)}")
        return len(seen) >= 2 and seen[-1]["t"] - seen[0]["t"] >= advance and seen
    seen = wait(page, playing, what)
    return seen[0]["t"], seen[-1]["t"]


# 1. A click on S02's bar about 30% across: the segment holding that moment plays from that moment.
first = segment_near(0.3)
at = first[1] + (first[2] - first[1]) // 4
if not recorded("S02", at):
    fail(f"{at} is not inside a recorded span of S02")
clicked = click_bar("S02", at)
wait(page, lambda d: js(d, "return R.play !== null && R.play.device === 'S02'"), "the player to take S02")
chosen = js(page, "return R.play.segments[R.play.index].id")
if chosen != first[0]:
    fail(f"a click at {at} ns chose segment {chosen}, not {first[0]} ({first[1]}–{first[2]})")
offset = (at - first[1]) / 1e9
start, end = plays_from(first, offset, clicked, f"segment {first[0]} playing from {offset:.2f} s")
report["firstClick"] = {"segment": first[0], "offset": round(offset, 3), "played": [round(start, 3), round(end, 3)]}
wait(page, lambda d: "S02" in d.find_element(By.ID, "player-where").text and "画面时间" in d.find_element(By.ID, "player-time").text,
     "the player naming S02 and the picture's time")
shot(page, "playing-first")
# At its end, the next segment plays from its start.
following = segments[segments.index(first) + 1]
plays_from(following, 0, clicked, f"segment {following[0]} after segment {first[0]} ended", advance=0.3)
report["movedOnTo"] = following[0]
if js(page, "return document.getElementById('player').paused"):
    wait(page, lambda d: not js(d, "return document.getElementById('player').paused"), "the next segment playing")
shot(page, "playing-next")

# 2. A click further along (about 70% across): the player goes there and plays on from there.
second = segment_near(0.7, avoid=(first[0], following[0]))
at = second[1] + (second[2] - second[1]) * 3 // 5
clicked = click_bar("S02", at)
wait(page, lambda d: js(d, "return R.play.segments[R.play.index].id") == second[0], f"the player to take segment {second[0]}")
offset = (at - second[1]) / 1e9
start, end = plays_from(second, offset, clicked, f"segment {second[0]} playing from {offset:.2f} s after a second click", advance=0.3)
report["secondClick"] = {"segment": second[0], "offset": round(offset, 3), "played": [round(start, 3), round(end, 3)]}
shot(page, "playing-second")

# 3. A seek inside a segment (what the player's own scrubber does): from early in the segment to late in it.
third = segment_near(0.5, avoid=(second[0],))
seek_to = (third[2] - third[1]) / 1e9 * 0.55
for attempt in range(4):
    clicked = click_bar("S02", third[1] + (third[2] - third[1]) // 10)
    wait(page, lambda d: js(d, "return R.play.segments[R.play.index].id") == third[0], f"the player to take segment {third[0]}")
    plays_from(third, (third[2] - third[1]) / 1e9 / 10, clicked, f"segment {third[0]} playing before the seek", advance=0.1)
    sought = js(page, """
      const v = document.getElementById('player');
      if (!v.currentSrc.endsWith(arguments[0]) || v.paused || v.currentTime > arguments[1] - 0.4) return 0;
      v.currentTime = arguments[1];
      return Date.now();
    """, src_of(third), seek_to)
    if sought:
        break
else:
    fail(f"could not seek in segment {third[0]}: it ended before each attempt\n{player_log(page)}")
start, end = plays_from(third, seek_to, sought, f"segment {third[0]} playing from the seek to {seek_to:.2f} s", advance=0.2)
seeked = [e for e in events(third, sought) if e["ev"] == "seeked"]
if not seeked:
    fail(f"no seeked event after setting currentTime:\n{player_log(page, sought)}")
report["seek"] = {"segment": third[0], "to": round(seek_to, 3), "played": [round(start, 3), round(end, 3)]}
shot(page, "playing-after-seek")
errors = js(page, "return window.__log.filter((e) => e.ev === 'error')")
if errors or page.find_element(By.ID, "player-error").text:
    fail(f"the player reported errors: {errors} {page.find_element(By.ID, 'player-error').text}")

# 4. The live wall: S02's picture is fetched again about once a second.
live = page.find_element(By.ID, "live-S02")
seen = set()
began = time.monotonic()
def refreshed(d):
    value = live.get_attribute("data-updated")
    if value:
        seen.add(value)
    return len(seen) >= 3
wait(page, refreshed, "S02's live picture refreshed twice", timeout=4.5)
report["liveRefreshSeconds"] = round(time.monotonic() - began, 2)
width = js(page, "return arguments[0].complete ? arguments[0].naturalWidth : 0", live)
if width <= 0:
    width = wait(page, lambda d: js(d, "return arguments[0].complete && arguments[0].naturalWidth", live), "S02's live picture decoded", timeout=3)
report["liveWidth"] = width
page.execute_script("document.getElementById('wall').scrollIntoView()")
shot(page, "live-wall")
story.quit(page)

# --- A station: refused -------------------------------------------------------------------------------------------

station = browser("S01")
station.get(base + "/recordings")
# Chromium shows a JSON answer as text in a <pre> (with its own pretty-print control beside it).
body = wait(station, lambda d: js(d, "const p = document.querySelector('pre'); return p ? p.textContent : ''"), "the refusal")
status = js(station, "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0")
shot(station, "station-refused")
try:
    refusal = json.loads(body)
except ValueError:
    fail(f"the station was shown something else than a refusal: {body[:1000]}")
if status != 403 or refusal.get("error") != "role-not-permitted" or "无权" not in refusal.get("message", "") \
        or station.find_elements(By.ID, "timeline"):
    fail(f"the station was not refused: HTTP {status}, {body[:1000]}")
report["stationRefusal"] = {"status": status, "error": refusal["error"]}
story.quit(station)
print(json.dumps(dict(ok=True, screenshots=story.step, **report), ensure_ascii=False))
