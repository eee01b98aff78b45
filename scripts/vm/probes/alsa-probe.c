// alsa-probe: captures from an ALSA device the way roomd's audio thread does (S16_LE mono, blocking
// snd_pcm_readi) and reports what snd_pcm_status says about timestamps: the htimestamp's clock,
// how it relates to CLOCK_MONOTONIC, and the sample rate measured against it (clock drift).
//
//   alsa-probe DEVICE RATE SECONDS
//
// Output: "setup ...", a few "read ..." lines, "summary ...". Exit 1 if the device fails.
#include <alsa/asoundlib.h>
#include <stdio.h>
#include <time.h>

static double ts(snd_htimestamp_t t) { return t.tv_sec + t.tv_nsec / 1e9; }
static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
#define CHECK(x) do { int _e = (x); if (_e < 0) { printf("error %s: %s\n", #x, snd_strerror(_e)); return 1; } } while (0)

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: alsa-probe DEVICE RATE SECONDS\n"); return 2; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  unsigned rate = atoi(argv[2]);
  double secs = atof(argv[3]);
  snd_pcm_t *pcm;
  CHECK(snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_CAPTURE, 0));
  snd_pcm_hw_params_t *hw;
  snd_pcm_hw_params_alloca(&hw);
  CHECK(snd_pcm_hw_params_any(pcm, hw));
  CHECK(snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED));
  CHECK(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE));
  CHECK(snd_pcm_hw_params_set_channels(pcm, hw, 1));
  CHECK(snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, NULL));
  snd_pcm_uframes_t period = rate / 50, buffer = rate / 5;  // 20 ms periods, 200 ms buffer
  CHECK(snd_pcm_hw_params_set_period_size_near(pcm, hw, &period, NULL));
  CHECK(snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &buffer));
  CHECK(snd_pcm_hw_params(pcm, hw));
  snd_pcm_sw_params_t *sw;
  snd_pcm_sw_params_alloca(&sw);
  CHECK(snd_pcm_sw_params_current(pcm, sw));
  CHECK(snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE));
  CHECK(snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC));
  CHECK(snd_pcm_sw_params(pcm, sw));
  printf("setup %s rate=%u period=%lu buffer=%lu tstamp=ENABLE/MONOTONIC\n", argv[1], rate, period, buffer);

  short buf[48000];
  snd_pcm_status_t *st;
  snd_pcm_status_alloca(&st);
  CHECK(snd_pcm_start(pcm));
  double t0 = mono(), first_h = 0, max_off = 0, min_off = 1e9;
  unsigned long total = 0, first_total = 0, reads = 0, xruns = 0, stale = 0;
  double prev_h = -1;
  while (mono() - t0 < secs) {
    snd_pcm_sframes_t n = snd_pcm_readi(pcm, buf, period);
    double now = mono();
    if (n < 0) {
      printf("read error %s at %.3fs\n", snd_strerror((int)n), now - t0);
      xruns++;
      CHECK(snd_pcm_recover(pcm, (int)n, 1));
      continue;
    }
    total += n;
    CHECK(snd_pcm_status(pcm, st));
    snd_htimestamp_t h, trig;
    snd_pcm_status_get_htstamp(st, &h);
    snd_pcm_status_get_trigger_htstamp(st, &trig);
    snd_pcm_sframes_t delay = snd_pcm_status_get_delay(st);
    snd_pcm_uframes_t avail = snd_pcm_status_get_avail(st);
    double hs = ts(h);
    if (hs == prev_h) stale++;
    prev_h = hs;
    // sample position of the htimestamp = frames read so far + frames still in the buffer (delay)
    double off = now - hs;
    if (off > max_off) max_off = off;
    if (off < min_off) min_off = off;
    if (reads == 5) { first_h = hs; first_total = total + delay; }
    if (reads < 3 || reads == 5)
      printf("read n=%ld htstamp=%.6f trigger=%.6f now=%.6f now-htstamp=%.2fms delay=%ld avail=%lu\n", (long)n, hs, ts(trig), now,
             off * 1e3, (long)delay, (unsigned long)avail);
    reads++;
  }
  // rate measured against htstamp over the run (position = read + delay at each status)
  CHECK(snd_pcm_status(pcm, st));
  snd_htimestamp_t h;
  snd_pcm_status_get_htstamp(st, &h);
  double pos = (double)(total + snd_pcm_status_get_delay(st) - first_total);
  double span = ts(h) - first_h;
  printf("summary reads=%lu frames=%lu xruns=%lu repeated_htstamps=%lu now-htstamp=%.2f..%.2fms measured_rate=%.1f Hz over %.2fs (%+.0f ppm)\n",
         reads, total, xruns, stale, min_off * 1e3, max_off * 1e3, pos / span, span, (pos / span / rate - 1) * 1e6);
  snd_pcm_close(pcm);
  return 0;
}
