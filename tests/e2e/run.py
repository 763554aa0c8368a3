#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end test of `kino serve`: upload -> transcode -> HLS playback.

Starts real `kino serve` processes on free loopback ports with temporary data
directories, makes test clips with the ffmpeg CLI (tests/media/generate.sh),
drives the REST API and the streaming paths over HTTP, and checks the output
with ffprobe. Standard library only.

    KINO_BIN=./build/kino python3 tests/e2e/run.py
    python3 tests/e2e/run.py --hls-only http://HOST:PORT/.../master.m3u8 [--duration 10]

Prints one line per check and ends with the line `N passed, N failed`; exits
non-zero when any check failed. KINO_E2E_KEEP=1 keeps the temporary directory.
"""

import argparse
import calendar
import http.client
import json
import math
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GENERATE = os.path.join(REPO, "tests", "media", "generate.sh")

READY_TIMEOUT = 300.0  # transcoding runs under AddressSanitizer on small machines
HEALTH_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
HTTP_TIMEOUT = 60.0


# --------------------------------------------------------------------------
# Reporting

class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS  %s" % name, flush=True)
        else:
            self.failed += 1
            self.failures.append((name, detail))
            msg = "FAIL  %s" % name
            if detail:
                msg += "\n      " + str(detail).replace("\n", "\n      ")
            print(msg, flush=True)
        return bool(ok)

    def section(self, title):
        print("\n== %s" % title, flush=True)

    def note(self, text):
        print("      %s" % text, flush=True)


R = Results()


def short(data, n=300):
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    data = str(data)
    return data if len(data) <= n else data[:n] + "..."


# --------------------------------------------------------------------------
# HTTP

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except Exception:
            return None

    def describe(self):
        return "HTTP %s %s: %s" % (self.status, self.header("Content-Type", ""), short(self.body))


# Uploads and most of the API need an account. Every Server under test gets an
# admin (Server.start) whose API key request() sends to that server, unless the
# call gives its own Authorization header or asks to be anonymous.
ADMIN_EMAIL = "admin@e2e.example"
ADMIN_PASSWORD = "e2e admin password"
CREDENTIALS = {}  # "host:port" -> API key


def with_credentials(base, headers, anonymous):
    hdrs = dict(headers or {})
    key = CREDENTIALS.get(urllib.parse.urlsplit(base).netloc)
    if not anonymous and key and "Authorization" not in hdrs:
        hdrs["Authorization"] = "Bearer " + key
    return hdrs


def request(base, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT, anonymous=False):
    """One request on a fresh connection; the path is sent exactly as given. Sends the
    server's admin API key unless `anonymous` or the headers carry an Authorization."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = with_credentials(base, headers, anonymous)
        if body is not None and "Content-Length" not in hdrs:
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body is not None:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.getheaders(), data)
    finally:
        conn.close()


def get_url(url, headers=None, method="GET", timeout=HTTP_TIMEOUT, anonymous=False):
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    return request("%s://%s" % (u.scheme, u.netloc), method, path, headers=headers,
                   timeout=timeout, anonymous=anonymous)


def raw_request(base, data, timeout=HTTP_TIMEOUT):
    """Send raw bytes, read until the server closes; returns the raw reply."""
    u = urllib.parse.urlsplit(base)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
    return b"".join(chunks)


def parse_raw_reply(raw):
    head, sep, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = None
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0] if lines else "")
    if m:
        status = int(m.group(1))
    headers = []
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return Resp(status, headers, rest)


def raw_get(base, path, method="GET"):
    u = urllib.parse.urlsplit(base)
    req = ("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (method, path, u.netloc))
    return parse_raw_reply(raw_request(base, req.encode("latin-1")))


def send_streaming(base, path, headers, body, timeout=HTTP_TIMEOUT, anonymous=False):
    """Send a request whose body the server may refuse early (413): stop sending
    as soon as a reply arrives, as curl does, then read the reply."""
    u = urllib.parse.urlsplit(base)
    head = "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n" % (path, u.netloc)
    for k, v in with_credentials(base, headers, anonymous).items():
        head += "%s: %s\r\n" % (k, v)
    head += "Content-Length: %d\r\n\r\n" % len(body)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    chunks = []
    send_error = None
    try:
        s.sendall(head.encode("latin-1"))
        off = 0
        while off < len(body):
            r, _, _ = select.select([s], [], [], 0)
            if r:
                break  # the server answered before taking the whole body
            try:
                n = s.send(body[off:off + 65536])
            except (BrokenPipeError, ConnectionResetError) as e:
                send_error = e
                break
            off += n
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError as e:
                send_error = send_error or e
                break
            if not c:
                break
            chunks.append(c)
    finally:
        s.close()
    raw = b"".join(chunks)
    if not raw:
        return None, send_error
    return parse_raw_reply(raw), send_error


def multipart(fields, file_field=None, filename=None, file_bytes=None,
              content_type="application/octet-stream"):
    boundary = "----kinoe2e%016x" % random.getrandbits(64)
    out = []
    for name, value in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" %
                    (boundary, name)).encode())
        out.append(value.encode("utf-8"))
        out.append(b"\r\n")
    if file_field is not None:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                    "Content-Type: %s\r\n\r\n" % (boundary, file_field, filename, content_type))
                   .encode())
        out.append(file_bytes)
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


def upload(base, path, title, description="", tags="", file_field="file", visibility=None,
           headers=None, anonymous=False):
    with open(path, "rb") as f:
        data = f.read()
    fields = [("title", title), ("description", description), ("tags", tags)]
    if visibility is not None:
        fields.append(("visibility", visibility))
    body, ctype = multipart(fields, file_field, os.path.basename(path), data, "video/mp4")
    hdrs = dict(headers or {})
    hdrs["Content-Type"] = ctype
    return request(base, "POST", "/api/v1/upload", body, hdrs, timeout=300, anonymous=anonymous)


def check_problem(name, r, status):
    """An RFC 9457 problem response with the given status (or one of a tuple)."""
    allowed = status if isinstance(status, tuple) else (status,)
    ok = r is not None and r.status in allowed
    detail = "" if r is None else r.describe()
    if not R.check("%s -> %s" % (name, " or ".join(map(str, allowed))), ok, detail):
        return False
    status = r.status
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    R.check("%s: Content-Type application/problem+json" % name,
            ctype == "application/problem+json", "Content-Type: %r" % r.header("Content-Type"))
    j = r.json()
    good = (isinstance(j, dict) and isinstance(j.get("type"), str) and
            isinstance(j.get("title"), str) and j.get("title") and
            j.get("status") == status and isinstance(j.get("detail"), str) and
            j.get("detail").strip() != "")
    R.check("%s: problem body has type, title, status=%d, non-empty detail" % (name, status),
            good, short(r.body))
    return True


# --------------------------------------------------------------------------
# The server under test

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kino_bin, data_dir, log_path, workers=2, extra_args=(), extra_env=None):
        self.kino_bin = kino_bin
        self.data_dir = data_dir
        self.log_path = log_path
        self.workers = workers
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.proc = None
        self.port = None
        self.log_file = None
        self.admin_id = None

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def add_user(self, email, password, role):
        """`kino user add` on this server's data dir (running or not: the same SQLite file)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
        return subprocess.run([self.kino_bin, "user", "add", "--email", email, "--role", role,
                               "--data", self.data_dir], input=password + "\n",
                              capture_output=True, text=True, env=env, timeout=120)

    def login(self, email, password):
        """(access token, user object) from POST /api/v1/auth/login, or (None, Resp)."""
        r = request(self.base, "POST", "/api/v1/auth/login",
                    json.dumps({"email": email, "password": password}).encode(),
                    {"Content-Type": "application/json"}, anonymous=True)
        j = r.json() if r.status == 200 else None
        if not isinstance(j, dict) or not j.get("access_token"):
            return None, r
        return j["access_token"], j.get("user") or {}

    def sign_in_admin(self, name):
        """Log the admin in and make an API key for this run (access tokens live 15 min)."""
        token, user = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        if not R.check("%s: the admin logs in" % name, token is not None,
                       "" if token else user.describe()):
            return False
        self.admin_id = user.get("id")
        r = request(self.base, "POST", "/api/v1/me/api-keys",
                    json.dumps({"name": "e2e"}).encode(),
                    {"Content-Type": "application/json", "Authorization": "Bearer " + token})
        j = r.json() if r.status == 201 else None
        if not R.check("%s: the admin gets an API key" % name,
                       isinstance(j, dict) and str(j.get("key", "")).startswith("kk_"),
                       r.describe()):
            return False
        CREDENTIALS[urllib.parse.urlsplit(self.base).netloc] = j["key"]
        return True

    def start(self, name):
        """Create the admin account if this data dir has none yet, start, wait for
        /health, log the admin in; checks named `name` record the outcome."""
        if not os.path.exists(os.path.join(self.data_dir, "kino.db")):
            p = self.add_user(ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
            if not R.check("%s: kino user add makes the admin" % name, p.returncode == 0,
                           p.stderr):
                return False
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
        env.update(self.extra_env)
        args = [self.kino_bin, "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--data", self.data_dir, "--workers", str(self.workers)] + self.extra_args
        self.log_file = open(self.log_path, "ab")
        self.log_file.write(("--- %s\n" % " ".join(args)).encode())
        self.log_file.flush()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=self.log_file, env=env)
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                last = "exited with status %d" % self.proc.returncode
                break
            try:
                r = request(self.base, "GET", "/health", timeout=2)
                if r.status == 200:
                    R.check("%s: starts and GET /health -> 200 (port %d)" % (name, self.port), True)
                    return self.sign_in_admin(name)
                last = r.describe()
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        R.check("%s: starts and GET /health -> 200 within %ds" % (name, HEALTH_TIMEOUT), False,
                "%s\n%s" % (last, self.log_tail()))
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, name):
        """SIGTERM; it must exit 0 within STOP_TIMEOUT."""
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            R.check("%s: still running before SIGTERM" % name, False,
                    "exited early with status %d\n%s" % (self.proc.returncode, self.log_tail()))
            self._close()
            return
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
            R.check("%s: SIGTERM -> exit 0 within %ds (%.1fs)" %
                    (name, STOP_TIMEOUT, time.monotonic() - t0), rc == 0,
                    "exit status %d\n%s" % (rc, self.log_tail()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            R.check("%s: SIGTERM -> exit 0 within %ds" % (name, STOP_TIMEOUT), False,
                    "still running after %ds; killed\n%s" % (STOP_TIMEOUT, self.log_tail()))
        self._close()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self):
        if self.log_file:
            self.log_file.close()
            self.log_file = None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "server log (%s), last %d lines:\n%s" % (self.log_path, n,
                                                           "\n".join(lines[-n:]))
        except OSError:
            return ""


# --------------------------------------------------------------------------
# Media object helpers

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# <base>/play/<token>/<file>: the token is <kid>.<media id>.<expires-at>.<mac>
PLAY_URL = re.compile(r"^(https?://[^/]+)/play/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[0-9]+\."
                      r"[A-Za-z0-9_-]{43})/(.+)$")
ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,}$")
CODECS_RE = re.compile(r"^avc1\.[0-9A-Fa-f]{6},mp4a\.40\.2$")
STATUSES = ("uploading", "queued", "processing", "ready", "failed")


def get_media(base, mid, anonymous=False):
    r = request(base, "GET", "/api/v1/media/%s" % mid, anonymous=anonymous)
    return r, (r.json() if r.status == 200 else None)


def check_media_shape(name, m):
    fields = ["id", "type", "title", "description", "tags", "status", "progress", "error",
              "duration_s", "width", "height", "renditions", "created_at", "updated_at",
              "owner_id", "visibility"]
    missing = [f for f in fields if f not in m]
    R.check("%s: media object has all fields" % name, not missing, "missing %s in %s" %
            (missing, short(json.dumps(m))))
    R.check("%s: id is random and URL-safe" % name, isinstance(m.get("id"), str) and
            ID_RE.match(m["id"]) is not None, repr(m.get("id")))
    R.check("%s: created_at/updated_at are RFC 3339 UTC" % name,
            all(isinstance(m.get(k), str) and RFC3339_UTC.match(m[k]) for k in
                ("created_at", "updated_at")),
            "%r %r" % (m.get("created_at"), m.get("updated_at")))


class Poller:
    """Polls media until ready/failed, checking progress as it goes."""

    def __init__(self, base, name, mid, monotonic=True):
        """monotonic=False where the job is known to start over (after a crash the
        restarted run reports its own progress from 0)."""
        self.base, self.name, self.mid = base, name, mid
        self.monotonic = monotonic
        self.last_progress = None
        self.progress_problems = []
        self.statuses = []
        self.media = None
        self.done = False
        self.error = None

    def poll(self):
        r, m = get_media(self.base, self.mid)
        if m is None:
            self.error = "GET /api/v1/media/%s: %s" % (self.mid, r.describe())
            self.done = True
            return
        st = m.get("status")
        if not self.statuses or self.statuses[-1] != st:
            self.statuses.append(st)
        p = m.get("progress")
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not (0.0 <= p <= 1.0):
            self.progress_problems.append("progress %r (status %s) is not a number in [0,1]" %
                                          (p, st))
        elif self.monotonic and self.last_progress is not None and p < self.last_progress - 1e-9:
            self.progress_problems.append("progress went down %r -> %r (status %s)" %
                                          (self.last_progress, p, st))
        if isinstance(p, (int, float)) and not isinstance(p, bool):
            self.last_progress = p
        self.media = m
        if st in ("ready", "failed"):
            self.done = True
        elif st not in STATUSES:
            self.error = "unknown status %r" % st
            self.done = True


def wait_all(pollers, timeout=READY_TIMEOUT, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(p.done for p in pollers):
        for p in pollers:
            if not p.done:
                try:
                    p.poll()
                except OSError as e:
                    p.error = "poll failed: %r" % e
                    p.done = True
        time.sleep(interval)
    for p in pollers:
        st = p.media.get("status") if p.media else None
        R.check("%s: reaches ready or failed within %ds" % (p.name, timeout),
                p.done and p.error is None and st in ("ready", "failed"),
                p.error or "last status %r, statuses seen %s" % (st, p.statuses))
        R.check("%s: progress is a number in [0,1] that never decreases" % p.name,
                not p.progress_problems, "; ".join(p.progress_problems[:5]))
        R.note("%s: statuses seen %s" % (p.name, " -> ".join(map(str, p.statuses))))


# --------------------------------------------------------------------------
# HLS parsing and checks with ffprobe

def parse_attrs(s):
    attrs = {}
    for m in re.finditer(r'([A-Z0-9-]+)=("[^"]*"|[^",]*)', s):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        attrs[m.group(1)] = v
    return attrs


def parse_master(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    media, variants, tags = [], [], set()
    for i, l in enumerate(lines):
        if l.startswith("#"):
            tags.add(l.split(":")[0])
        if l.startswith("#EXT-X-MEDIA:"):
            media.append(parse_attrs(l[len("#EXT-X-MEDIA:"):]))
        elif l.startswith("#EXT-X-STREAM-INF:"):
            a = parse_attrs(l[len("#EXT-X-STREAM-INF:"):])
            uri = lines[i + 1] if i + 1 < len(lines) else None
            variants.append((a, uri))
    return lines, tags, media, variants


def parse_media_playlist(text):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    out = {"version": None, "type": None, "target": None, "map": None, "segments": [],
           "endlist": False, "lines": lines}
    pending = None
    for l in lines:
        if l.startswith("#EXT-X-VERSION:"):
            out["version"] = l.split(":", 1)[1]
        elif l.startswith("#EXT-X-PLAYLIST-TYPE:"):
            out["type"] = l.split(":", 1)[1]
        elif l.startswith("#EXT-X-TARGETDURATION:"):
            try:
                out["target"] = int(l.split(":", 1)[1])
            except ValueError:
                out["target"] = l.split(":", 1)[1]
        elif l.startswith("#EXT-X-MAP:"):
            out["map"] = parse_attrs(l[len("#EXT-X-MAP:"):]).get("URI")
        elif l.startswith("#EXTINF:"):
            try:
                pending = float(l[len("#EXTINF:"):].split(",")[0])
            except ValueError:
                pending = float("nan")
        elif l == "#EXT-X-ENDLIST":
            out["endlist"] = True
        elif not l.startswith("#"):
            out["segments"].append((pending, l))
            pending = None
    return out


def mp4_boxes(data, start, end):
    """(type, payload start, box end) of each box in data[start:end]."""
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        if size < head or start + size > end:
            return
        yield kind.decode("latin-1"), start + head, start + size
        start += size


def sample_spans(path):
    """[(presentation start, end)] of every video sample of a fragmented MP4, in the track's
    timescale, as a Media Source Extensions player buffers them: decode time from tfdt and the
    durations before it, presentation time plus the composition offset, lasting the sample's
    trun duration."""
    return [(start, end) for start, end, _ in mp4_samples(path)]


def mp4_samples(path):
    """[(presentation start, end, bytes)] of every sample of a fragmented MP4's first track,
    in decoding order (see sample_spans())."""
    with open(path, "rb") as f:
        data = f.read()
    spans = []
    for kind, body, end in mp4_boxes(data, 0, len(data)):
        if kind != "moof":
            continue
        for kind2, body2, end2 in mp4_boxes(data, body, end):
            if kind2 != "traf":
                continue
            dts, default_duration, default_size, runs = 0, 0, 0, []
            for kind3, b, _ in mp4_boxes(data, body2, end2):
                version, flags = data[b], int.from_bytes(data[b + 1:b + 4], "big")
                if kind3 == "tfhd":
                    at = b + 8 + (8 if flags & 1 else 0) + (4 if flags & 2 else 0)
                    if flags & 8:
                        default_duration = struct.unpack(">I", data[at:at + 4])[0]
                        at += 4
                    if flags & 0x10:
                        default_size = struct.unpack(">I", data[at:at + 4])[0]
                elif kind3 == "tfdt":
                    dts = struct.unpack(">Q" if version else ">I",
                                        data[b + 4:b + (12 if version else 8)])[0]
                elif kind3 == "trun":
                    runs.append((b, version, flags))
            for b, version, flags in runs:
                count = struct.unpack(">I", data[b + 4:b + 8])[0]
                at = b + 8 + (4 if flags & 1 else 0) + (4 if flags & 4 else 0)
                for _ in range(count):
                    duration, size, offset = default_duration, default_size, 0
                    if flags & 0x100:
                        duration = struct.unpack(">I", data[at:at + 4])[0]
                        at += 4
                    if flags & 0x200:
                        size = struct.unpack(">I", data[at:at + 4])[0]
                        at += 4
                    at += 4 if flags & 0x400 else 0
                    if flags & 0x800:
                        offset = struct.unpack(">i" if version else ">I", data[at:at + 4])[0]
                        at += 4
                    spans.append((dts + offset, dts + offset + duration, size))
                    dts += duration
    return spans


def track_timescale(path):
    """The timescale (ticks per second) in the first track's mdhd of an MP4, or None."""
    with open(path, "rb") as f:
        data = f.read()

    def find(start, end, path_left):
        for kind, body, stop in mp4_boxes(data, start, end):
            if kind != path_left[0]:
                continue
            if len(path_left) > 1:
                return find(body, stop, path_left[1:])
            version = data[body]
            at = body + (20 if version == 1 else 12)
            return struct.unpack(">I", data[at:at + 4])[0]
        return None
    return find(0, len(data), ["moov", "trak", "mdia", "mdhd"])


def span_holes(spans):
    """The stretches of presentation time no sample covers, between the first and the last."""
    holes, reach = [], None
    for start, end in sorted(spans):
        if reach is not None and start > reach:
            holes.append((reach, start))
        reach = end if reach is None else max(reach, end)
    return holes


def ffprobe_json(args, timeout=120):
    p = subprocess.run(["ffprobe", "-v", "error", "-of", "json"] + args, capture_output=True,
                       timeout=timeout)
    if p.returncode != 0:
        return None, p.stderr.decode("utf-8", "replace")
    try:
        return json.loads(p.stdout.decode("utf-8")), ""
    except ValueError as e:
        return None, str(e)


def probe_packets(path):
    j, err = ffprobe_json(["-select_streams", "0", "-show_packets", "-show_entries",
                           "packet=pts_time,dts_time,duration_time,flags", path])
    if j is None:
        return None, err
    pk = []
    for p in j.get("packets", []):
        try:
            pk.append((float(p["pts_time"]), float(p.get("duration_time", "nan")),
                       "K" in p.get("flags", "")))
        except (KeyError, ValueError):
            pass
    return pk, ""


def probe_stream(path):
    j, err = ffprobe_json(["-show_streams", path])
    if j is None or not j.get("streams"):
        return None, err or "no streams"
    return j["streams"][0], ""


def fetch(url, dest):
    r = get_url(url)
    if r.status == 200:
        with open(dest, "wb") as f:
            f.write(r.body)
    return r


# kino's default rung caps (src/media/ladder.c), bit/s: the btrt box of each video rendition
# carries its rung's (the VBV cap x264 reports), AAC its 128 kbit/s.
RUNG_CAPS = {"1080p": 5000000, "720p": 2800000, "480p": 1400000, "360p": 800000}


def btrt(init):
    """(bufferSizeDB, maxBitrate, avgBitrate) of the first bit rate box in `init`, or None."""
    i = init.find(b"btrt")
    if i < 4 or len(init) < i + 16:
        return None
    return struct.unpack(">III", init[i + 4:i + 16])


def ftyp_brands(data):
    """{"major": ..., "compatible": [...]} of the file type box that starts `data`, or None."""
    for kind, body, stop in mp4_boxes(data, 0, len(data)):
        if kind != "ftyp" or stop - body < 8 or (stop - body) % 4:
            return None
        return {"major": data[body:body + 4].decode("latin-1"),
                "compatible": [data[i:i + 4].decode("latin-1") for i in range(body + 8, stop, 4)]}
    return None


def check_rendition_download(label, playlist_url, pl, workdir):
    """Download init + segments of one rendition; return (init_bytes, [seg bytes]) or None."""
    init_url = urllib.parse.urljoin(playlist_url, pl["map"] or "")
    os.makedirs(workdir, exist_ok=True)
    r = fetch(init_url, os.path.join(workdir, "init.mp4"))
    ok = R.check("%s: GET init segment %s -> 200" % (label, pl["map"]), r.status == 200,
                 "%s -> %s" % (init_url, r.describe()))
    if not ok:
        return None
    init = r.body
    boxes = [kind for kind, _, _ in mp4_boxes(init, 0, len(init))]
    brands = ftyp_brands(init)
    R.check("%s: init.mp4 is ftyp + moov, the ftyp a CMAF track's (cmfc) with tfdt (iso6)" % label,
            boxes == ["ftyp", "moov"] and brands is not None and
            {"cmfc", "iso6"} <= set(brands["compatible"]),
            "boxes %s, brands %s" % (boxes, brands))
    segs = []
    bad = []
    for i, (_, uri) in enumerate(pl["segments"]):
        url = urllib.parse.urljoin(playlist_url, uri)
        r = get_url(url)
        if r.status != 200 or not r.body:
            bad.append("%s -> %s" % (url, r.describe()))
            segs.append(b"")
        else:
            segs.append(r.body)
        with open(os.path.join(workdir, "seg%d.mp4" % (i + 1)), "wb") as f:
            f.write(init + segs[-1])
    R.check("%s: GET all %d segments -> 200 with content" % (label, len(segs)), not bad,
            "; ".join(bad[:3]))
    if bad:
        return None
    with open(os.path.join(workdir, "all.mp4"), "wb") as f:
        f.write(init)
        for s in segs:
            f.write(s)
    return init, segs


def check_hls(label, master_url, duration, expect_sizes, workdir, api_media=None,
              check_headers=True):
    """Checks a master playlist and everything it points at.

    expect_sizes: list of (width, height) of the video rungs expected (any order).
    Returns a dict with the first video segment URL etc. for further checks.
    """
    info = {}
    r = get_url(master_url)
    if not R.check("%s: GET master.m3u8 -> 200" % label, r.status == 200, r.describe()):
        return info
    if check_headers:
        R.check("%s: master Content-Type application/vnd.apple.mpegurl" % label,
                (r.header("Content-Type") or "").split(";")[0].strip().lower() ==
                "application/vnd.apple.mpegurl", repr(r.header("Content-Type")))
    text = r.body.decode("utf-8", "replace")
    lines, tags, media, variants = parse_master(text)
    R.note("master.m3u8:\n        " + "\n        ".join(lines))
    R.check("%s: master starts with #EXTM3U" % label, lines[:1] == ["#EXTM3U"], short(text))
    R.check("%s: master has #EXT-X-VERSION:7" % label, "#EXT-X-VERSION:7" in lines, short(text))
    R.check("%s: master has #EXT-X-INDEPENDENT-SEGMENTS" % label,
            "#EXT-X-INDEPENDENT-SEGMENTS" in lines, short(text))
    audio = [m for m in media if m.get("TYPE") == "AUDIO"]
    R.check("%s: one #EXT-X-MEDIA:TYPE=AUDIO with GROUP-ID, NAME, LANGUAGE, CHANNELS, DEFAULT, URI"
            % label, len(audio) == 1 and all(audio[0].get(k) for k in
                                             ("GROUP-ID", "NAME", "LANGUAGE", "CHANNELS",
                                              "DEFAULT", "URI")), short(json.dumps(audio)))
    if audio:
        R.check("%s: audio CHANNELS=\"2\"" % label, audio[0].get("CHANNELS") == "2",
                repr(audio[0].get("CHANNELS")))
    group = audio[0].get("GROUP-ID") if audio else None

    R.check("%s: %d variant stream(s)" % (label, len(expect_sizes)),
            len(variants) == len(expect_sizes), "got %d" % len(variants))
    sizes = []
    for a, uri in variants:
        need = ("BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE", "AUDIO")
        missing = [k for k in need if not a.get(k)]
        R.check("%s: STREAM-INF %s has %s" % (label, uri, ", ".join(need)), not missing,
                "missing %s in %s" % (missing, a))
        R.check("%s: STREAM-INF %s AUDIO matches the audio GROUP-ID" % (label, uri),
                group is not None and a.get("AUDIO") == group, "%r vs %r" % (a.get("AUDIO"), group))
        R.check("%s: STREAM-INF %s CODECS like avc1.xxxxxx,mp4a.40.2" % (label, uri),
                CODECS_RE.match(a.get("CODECS", "")) is not None, repr(a.get("CODECS")))
        try:
            fr = float(a.get("FRAME-RATE", "nan"))
        except ValueError:
            fr = float("nan")
        R.check("%s: STREAM-INF %s FRAME-RATE ~ 30" % (label, uri), abs(fr - 30) < 0.1,
                repr(a.get("FRAME-RATE")))
        m = re.match(r"^(\d+)x(\d+)$", a.get("RESOLUTION", ""))
        sizes.append((int(m.group(1)), int(m.group(2))) if m else None)
        try:
            bw, abw = int(a.get("BANDWIDTH")), int(a.get("AVERAGE-BANDWIDTH"))
            R.check("%s: STREAM-INF %s AVERAGE-BANDWIDTH <= BANDWIDTH" % (label, uri),
                    0 < abw <= bw, "%d > %d" % (abw, bw))
        except (TypeError, ValueError):
            R.check("%s: STREAM-INF %s BANDWIDTH values are integers" % (label, uri), False,
                    repr(a))
    R.check("%s: the master has no EXT-X-START (the media playlists have it)" % label,
            not any(l.startswith("#EXT-X-START") for l in lines), short(text))
    R.check("%s: RESOLUTIONs are %s" % (label, expect_sizes),
            sorted(s for s in sizes if s) == sorted(expect_sizes) and None not in sizes,
            "got %s" % sizes)

    if api_media is not None:
        # The API's renditions must say what the playlist says.
        api = {(x.get("width"), x.get("height")): x for x in api_media.get("renditions") or []}
        for a, uri in variants:
            m = re.match(r"^(\d+)x(\d+)$", a.get("RESOLUTION", ""))
            rd = api.get((int(m.group(1)), int(m.group(2)))) if m else None
            R.check("%s: API rendition for %s has the playlist's BANDWIDTH, AVERAGE-BANDWIDTH, "
                    "CODECS" % (label, uri),
                    rd is not None and str(rd.get("bandwidth")) == a.get("BANDWIDTH") and
                    str(rd.get("average_bandwidth")) == a.get("AVERAGE-BANDWIDTH") and
                    rd.get("codecs") == a.get("CODECS"),
                    "api %s vs playlist %s" % (rd, a))

    # Audio rendition.
    audio_pl, audio_segs = None, None
    start_tags = {}  # playlist -> its EXT-X-START lines
    if audio:
        aurl = urllib.parse.urljoin(master_url, audio[0]["URI"])
        audio_pl = check_media_playlist(label + " audio", aurl, duration, check_headers)
        if audio_pl:
            start_tags[audio[0]["URI"]] = [l for l in audio_pl["lines"] if l.startswith("#EXT-X-START:")]
            got = check_rendition_download(label + " audio", aurl, audio_pl,
                                           os.path.join(workdir, "audio"))
            if got:
                audio_segs = got[1]
                b = btrt(got[0])
                R.check("%s audio: init has a bit rate box (btrt), 128 kbit/s" % label,
                        b is not None and b[2] == 128000, repr(b))
                st, err = probe_stream(os.path.join(workdir, "audio", "all.mp4"))
                R.check("%s audio: AAC-LC, 2 channels, 48 kHz" % label,
                        st is not None and st.get("codec_name") == "aac" and
                        st.get("channels") == 2 and st.get("sample_rate") == "48000" and
                        st.get("profile") == "LC",
                        err or {k: st.get(k) for k in ("codec_name", "profile", "channels",
                                                       "sample_rate")})

    # Video renditions.
    keyframes = {}
    for (a, uri), size in zip(variants, sizes):
        vlabel = "%s %s" % (label, uri)
        purl = urllib.parse.urljoin(master_url, uri)
        pl = check_media_playlist(vlabel, purl, duration, check_headers)
        if not pl:
            continue
        start_tags[uri] = [l for l in pl["lines"] if l.startswith("#EXT-X-START:")]
        wd = os.path.join(workdir, "v%d" % len(keyframes))
        got = check_rendition_download(vlabel, purl, pl, wd)
        if not got:
            keyframes[uri] = None
            continue
        init, segs = got
        rung = uri.split("/")[0]
        b = btrt(init)
        R.check("%s: init has a bit rate box (btrt) with the rung's cap %s bit/s" %
                (vlabel, RUNG_CAPS.get(rung)),
                b is not None and b[1] == RUNG_CAPS.get(rung) and b[0] == b[1] * 2 // 8,
                repr(b))
        if "first_segment" not in info:
            info["first_segment"] = urllib.parse.urljoin(purl, pl["segments"][0][1])
            info["init"] = urllib.parse.urljoin(purl, pl["map"])
            info["playlist"] = purl
            info["segment_bytes"] = segs[0]
            info["init_bytes"] = init
        info.setdefault("all_urls", []).extend(
            [urllib.parse.urljoin(purl, pl["map"])] +
            [urllib.parse.urljoin(purl, s[1]) for s in pl["segments"]])

        st, err = probe_stream(os.path.join(wd, "seg1.mp4"))
        R.check("%s: coded size %s matches RESOLUTION %s" % (vlabel, (st or {}).get("width") and
                                                             "%sx%s" % (st["width"], st["height"]),
                                                             a.get("RESOLUTION")),
                st is not None and size is not None and (st.get("width"), st.get("height")) == size,
                err or "")
        R.check("%s: H.264 High profile, yuv420p" % vlabel,
                st is not None and st.get("codec_name") == "h264" and
                st.get("profile") == "High" and st.get("pix_fmt") == "yuv420p",
                err or {k: (st or {}).get(k) for k in ("codec_name", "profile", "pix_fmt")})

        # Every segment starts with a keyframe; EXTINF is the segment's real duration.
        not_key, bad_dur, starts = [], [], []
        for i, (extinf, _) in enumerate(pl["segments"]):
            pk, err = probe_packets(os.path.join(wd, "seg%d.mp4" % (i + 1)))
            if not pk:
                not_key.append("segment %d: ffprobe found no packets %s" % (i + 1, short(err)))
                continue
            if not pk[0][2]:
                not_key.append("segment %d: first packet (pts %.3f) is not a keyframe" %
                               (i + 1, pk[0][0]))
            t0 = min(p[0] for p in pk)
            t1 = max(p[0] + (p[1] if not math.isnan(p[1]) else 0) for p in pk)
            starts.append(t0)
            if extinf is None or abs((t1 - t0) - extinf) > 0.04:
                bad_dur.append("segment %d: EXTINF %s, media %.3f s" % (i + 1, extinf, t1 - t0))
        R.check("%s: every segment starts with a keyframe" % vlabel, not not_key,
                "; ".join(not_key[:5]))
        R.check("%s: each EXTINF is the segment's duration (within a frame)" % vlabel,
                not bad_dur, "; ".join(bad_dur[:5]))
        contiguous = []
        acc = starts[0] if starts else 0
        for i, ((extinf, _), t) in enumerate(zip(pl["segments"], starts)):
            if abs(t - acc) > 0.04:
                contiguous.append("segment %d starts at %.3f, expected %.3f" % (i + 1, t, acc))
            acc += extinf or 0
        R.check("%s: segments are contiguous (each starts where the last ended)" % vlabel,
                not contiguous, "; ".join(contiguous[:5]))
        durs = [e for e, _ in pl["segments"]]
        # The first segment is one GOP, so playback can start sooner; then 4 s segments.
        R.check("%s: the first segment is 2 s, the others 4 s except the last" % vlabel,
                len(durs) >= 1 and all(e is not None for e in durs) and
                (len(durs) == 1 or abs(durs[0] - 2.0) < 0.05) and
                all(abs(e - 4.0) < 0.05 for e in durs[1:-1]) and
                0 < durs[-1] <= 4.05 + (2.0 if len(durs) == 1 else 0), repr(durs))

        pk, err = probe_packets(os.path.join(wd, "all.mp4"))
        if pk:
            base_t = min(p[0] for p in pk)
            kf = sorted(round(p[0] - base_t, 3) for p in pk if p[2])
            keyframes[uri] = kf
            missing = [t for t in range(0, int(math.ceil(duration - 0.05)), 2)
                       if not any(abs(k - t) < 0.04 for k in kf)]
            R.check("%s: a keyframe every 2 s (GOP 2 s)" % vlabel, not missing,
                    "keyframes %s, none near %s" % (kf, missing))
        else:
            keyframes[uri] = None
            R.check("%s: ffprobe reads init + all segments" % vlabel, False, short(err))

        # Measured bitrate of video + same-index audio segment vs BANDWIDTH.
        if audio_segs is not None:
            rates, total_bits, total_dur = [], 0, 0.0
            for i, ((extinf, _), seg) in enumerate(zip(pl["segments"], segs)):
                abytes = len(audio_segs[i]) if i < len(audio_segs) else 0
                bits = (len(seg) + abytes) * 8
                if extinf:
                    rates.append(bits / extinf)
                total_bits += bits
                total_dur += extinf or 0
            try:
                bw, abw = int(a.get("BANDWIDTH")), int(a.get("AVERAGE-BANDWIDTH"))
            except (TypeError, ValueError):
                bw = abw = None
            peak = max(rates) if rates else 0
            mean = total_bits / total_dur if total_dur else 0
            R.check("%s: BANDWIDTH %s within 10%% of measured peak %.0f" % (vlabel, bw, peak),
                    bw is not None and peak > 0 and abs(bw - peak) <= 0.10 * peak,
                    "per-segment (video+audio) bit/s: %s" % [round(x) for x in rates])
            R.check("%s: AVERAGE-BANDWIDTH %s within 10%% of measured mean %.0f" %
                    (vlabel, abw, mean),
                    abw is not None and mean > 0 and abs(abw - mean) <= 0.10 * mean, "")

    # Players start a growing playlist at its beginning, not near its end as live TV.
    for uri, tags in start_tags.items():
        R.check("%s: %s starts players at 0 (#EXT-X-START:TIME-OFFSET=0)" % (label, uri),
                tags == ["#EXT-X-START:TIME-OFFSET=0"], repr(tags))

    kfs = [v for v in keyframes.values()]
    if len(kfs) > 1:
        same = all(k is not None and k == kfs[0] for k in kfs)
        R.check("%s: keyframe times identical across rungs" % label, same,
                "\n".join("%s: %s" % (u, k) for u, k in keyframes.items()))
    elif kfs:
        R.check("%s: keyframes found" % label, kfs[0] is not None and len(kfs[0]) > 0, "")

    # A real player's view: ffprobe the master over HTTP.
    j, err = ffprobe_json(["-show_streams", master_url], timeout=180)
    types = sorted(set(s.get("codec_type") for s in (j or {}).get("streams", [])))
    R.check("%s: ffprobe of the master URL over HTTP sees video and audio" % label,
            j is not None and "video" in types and "audio" in types,
            err or "stream types %s" % types)
    info["variants"] = variants
    return info


def check_media_playlist(label, url, duration, check_headers=True):
    r = get_url(url)
    if not R.check("%s: GET %s -> 200" % (label, urllib.parse.urlsplit(url).path),
                   r.status == 200, r.describe()):
        return None
    if check_headers:
        R.check("%s: playlist Content-Type application/vnd.apple.mpegurl" % label,
                (r.header("Content-Type") or "").split(";")[0].strip().lower() ==
                "application/vnd.apple.mpegurl", repr(r.header("Content-Type")))
    pl = parse_media_playlist(r.body.decode("utf-8", "replace"))
    text = short("\n".join(pl["lines"]), 600)
    R.check("%s: #EXT-X-PLAYLIST-TYPE:VOD" % label, pl["type"] == "VOD", text)
    R.check("%s: #EXT-X-VERSION:7" % label, pl["version"] == "7", text)
    R.check("%s: #EXT-X-MAP:URI present" % label, bool(pl["map"]), text)
    R.check("%s: #EXT-X-ENDLIST" % label, pl["endlist"], text)
    extinf = [e for e, _ in pl["segments"]]
    ok = bool(extinf) and all(e is not None and e > 0 for e in extinf)
    R.check("%s: every segment has a positive EXTINF" % label, ok, text)
    if not ok:
        return None
    R.check("%s: #EXT-X-TARGETDURATION >= every rounded EXTINF" % label,
            isinstance(pl["target"], int) and all(round(e) <= pl["target"] for e in extinf),
            "target %r, EXTINF %s" % (pl["target"], extinf))
    total = sum(extinf)
    R.check("%s: sum of EXTINF %.3f ~ duration %.3f" % (label, total, duration),
            abs(total - duration) <= 0.25, repr(extinf))
    return pl


# --------------------------------------------------------------------------
# DASH manifest and I-frame playlists (trick play), over the same CMAF files

MPD_NS = "{urn:mpeg:dash:schema:mpd:2011}"


def rfc3339_seconds(s):
    """"2025-01-02T03:04:05Z" (fraction allowed) -> seconds since the epoch, or None."""
    if not RFC3339_UTC.match(s or ""):
        return None
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S"))


def iso_seconds(s):
    """xs:duration "PT1H2M3.5S" -> seconds (None when it is not one)."""
    m = re.match(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?$", s or "")
    if not m or not any(m.groups()):
        return None
    h, mi, sec = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0)


def peak_rate(pieces, target):
    """RFC 8216 peak: each piece's bits over its seconds; one shorter than half the
    target is measured together with the one before it. pieces: [(bytes, seconds)]."""
    peak = 0.0
    for i, (nbytes, dur) in enumerate(pieces):
        run = pieces[i - 1:i + 1] if i > 0 and dur < 0.5 * target else [(nbytes, dur)]
        secs = sum(d for _, d in run)
        if secs > 0:
            peak = max(peak, sum(b for b, _ in run) * 8 / secs)
    return peak


def first_packets(path, stream="0"):
    """(first dts in seconds, [(pts, key)]) of one stream of a file, or (None, err)."""
    j, err = ffprobe_json(["-select_streams", stream, "-show_entries",
                           "packet=pts_time,dts_time,flags", path])
    if j is None or not j.get("packets"):
        return None, err or "no packets"
    pk = j["packets"]
    try:
        return (float(pk[0]["dts_time"]),
                [(float(p["pts_time"]), "K" in p.get("flags", "")) for p in pk]), ""
    except (KeyError, ValueError) as e:
        return None, str(e)


def mpd_timeline(tmpl):
    """Expand a SegmentTemplate's SegmentTimeline into [(t, d)]."""
    out, t = [], 0
    tl = tmpl.find(MPD_NS + "SegmentTimeline") if tmpl is not None else None
    for s in (tl if tl is not None else []):
        if s.get("t") is not None:
            t = int(s.get("t"))
        d = int(s.get("d", "0"))
        for _ in range(int(s.get("r", "0")) + 1):
            out.append((t, d))
            t += d
    return out


def check_dash(label, mpd_url, duration, expect_sizes, workdir):
    """Checks manifest.mpd and every segment it addresses. Returns {rep id: timeline info}."""
    import xml.etree.ElementTree as ET
    reps_out = {}
    r = get_url(mpd_url)
    if not R.check("%s: GET manifest.mpd -> 200" % label, r.status == 200, r.describe()):
        return reps_out
    R.check("%s: manifest Content-Type application/dash+xml" % label,
            (r.header("Content-Type") or "").split(";")[0].strip() == "application/dash+xml",
            repr(r.header("Content-Type")))
    R.check("%s: manifest Cache-Control like the playlists (public, max-age=60)" % label,
            r.header("Cache-Control") == "public, max-age=60", repr(r.header("Cache-Control")))
    try:
        root = ET.fromstring(r.body)
    except ET.ParseError as e:
        R.check("%s: manifest.mpd is well-formed XML" % label, False, "%s\n%s" % (e, short(r.body)))
        return reps_out
    R.note("manifest.mpd:\n        " + "\n        ".join(
        r.body.decode("utf-8", "replace").splitlines()))
    R.check("%s: MPD is static, isoff-live, with minBufferTime" % label,
            root.tag == MPD_NS + "MPD" and root.get("type") == "static" and
            "urn:mpeg:dash:profile:isoff-live:2011" in (root.get("profiles") or "") and
            iso_seconds(root.get("minBufferTime")) is not None, repr(root.attrib))
    total = iso_seconds(root.get("mediaPresentationDuration"))
    R.check("%s: mediaPresentationDuration %s ~ duration %.3f" %
            (label, root.get("mediaPresentationDuration"), duration),
            total is not None and abs(total - duration) <= 0.25, "")
    periods = root.findall(MPD_NS + "Period")
    if not R.check("%s: one Period" % label, len(periods) == 1, "%d" % len(periods)):
        return reps_out
    sets = periods[0].findall(MPD_NS + "AdaptationSet")
    video = [s for s in sets if s.get("mimeType") == "video/mp4"]
    audio = [s for s in sets if s.get("mimeType") == "audio/mp4"]
    image = [s for s in sets if s.get("contentType") == "image"]
    R.check("%s: one video, one audio and one image (storyboard) AdaptationSet" % label,
            len(video) == 1 and len(audio) == 1 and len(image) == 1 and len(sets) == 3,
            repr([s.attrib for s in sets]))
    if image:
        check_dash_storyboard(label, mpd_url, image[0], total, workdir)
    for s in video + audio:
        R.check("%s: %s set has segmentAlignment=true, startWithSAP=1" % (label, s.get("mimeType")),
                s.get("segmentAlignment") == "true" and s.get("startWithSAP") == "1",
                repr(s.attrib))
    if video:
        v = video[0]
        top = max(expect_sizes)
        R.check("%s: video set has maxWidth/maxHeight/maxFrameRate/par" % label,
                v.get("maxWidth") == str(max(w for w, _ in expect_sizes)) and
                v.get("maxHeight") == str(max(h for _, h in expect_sizes)) and
                v.get("maxFrameRate") == "30" and v.get("par") == "%d:%d" % (
                    top[0] // math.gcd(*top), top[1] // math.gcd(*top)), repr(v.attrib))
    if audio:
        a = audio[0]
        acc = a.find(MPD_NS + "AudioChannelConfiguration")
        R.check("%s: audio set has lang and AudioChannelConfiguration 2" % label,
                bool(a.get("lang")) and acc is not None and acc.get("value") == "2" and
                acc.get("schemeIdUri") ==
                "urn:mpeg:dash:23003:3:audio_channel_configuration:2011",
                repr((a.attrib, acc is not None and acc.attrib)))

    sizes = []
    for s in video + audio:
        for rep in s.findall(MPD_NS + "Representation"):
            rid = rep.get("id") or ""
            rl = "%s dash %s" % (label, rid)
            is_video = s in video
            if is_video:
                sizes.append((int(rep.get("width", "0")), int(rep.get("height", "0"))))
                R.check("%s: codecs avc1, frameRate 30, sar 1:1" % rl,
                        re.match(r"^avc1\.[0-9a-fA-F]{6}$", rep.get("codecs", "")) is not None and
                        rep.get("frameRate") == "30" and rep.get("sar") == "1:1",
                        repr(rep.attrib))
            else:
                R.check("%s: codecs mp4a.40.2, audioSamplingRate 48000" % rl,
                        rep.get("codecs") == "mp4a.40.2" and
                        rep.get("audioSamplingRate") == "48000", repr(rep.attrib))
            tmpl = rep.find(MPD_NS + "SegmentTemplate")
            if tmpl is None:
                tmpl = s.find(MPD_NS + "SegmentTemplate")
            ok = (tmpl is not None and tmpl.get("initialization") ==
                  "$RepresentationID$/init.mp4" and
                  tmpl.get("media") == "$RepresentationID$/$Number$.m4s" and
                  tmpl.get("startNumber") == "1" and (tmpl.get("timescale") or "").isdigit())
            if not R.check("%s: SegmentTemplate on the CMAF files with a timescale" % rl, ok,
                           repr(tmpl.attrib if tmpl is not None else None)):
                continue
            ts = int(tmpl.get("timescale"))
            tl = mpd_timeline(tmpl)
            gaps = [i for i in range(1, len(tl)) if tl[i][0] != tl[i - 1][0] + tl[i - 1][1]]
            R.check("%s: SegmentTimeline has segments, no gaps or overlaps" % rl,
                    tl and not gaps, repr(tl))
            # The same files as HLS: <id>/init.mp4 and <id>/<n>.m4s, relative to the MPD.
            wd = os.path.join(workdir, rid)
            os.makedirs(wd, exist_ok=True)
            ri = get_url(urllib.parse.urljoin(mpd_url, "%s/init.mp4" % rid))
            segs, bad = [], []
            for n in range(1, len(tl) + 1):
                rs = get_url(urllib.parse.urljoin(mpd_url, "%s/%d.m4s" % (rid, n)))
                segs.append(rs.body if rs.status == 200 else b"")
                if rs.status != 200 or not rs.body:
                    bad.append("%d.m4s -> %s" % (n, rs.describe()))
            if not R.check("%s: init.mp4 and all %d segments -> 200" % (rl, len(tl)),
                           ri.status == 200 and not bad, "; ".join(bad[:3]) or ri.describe()):
                continue
            # Each S@t is where its segment really starts: its earliest presentation time
            # (ISO 23009-1), which with B-frames is after its first decode time.
            wrong = []
            for n, ((t, d), body) in enumerate(zip(tl, segs), 1):
                path = os.path.join(wd, "s%d.mp4" % n)
                with open(path, "wb") as f:
                    f.write(ri.body + body)
                got, err = first_packets(path)
                if got is None or not got[1]:
                    wrong.append("segment %d: %s" % (n, short(err)))
                    continue
                start = min(pts for pts, _ in got[1])
                if abs(start - t / ts) > 0.0005:
                    wrong.append("segment %d: S@t %.4f s, media starts at %.4f s" %
                                 (n, t / ts, start))
            R.check("%s: every S@t is the segment's start in the media" % rl, not wrong,
                    "; ".join(wrong[:4]))
            end = (tl[-1][0] + tl[-1][1]) / ts if tl else 0
            R.check("%s: timeline covers the duration (%.3f s)" % (rl, end),
                    abs(end - duration) <= 0.25, repr(tl))
            pieces = [(len(b), d / ts) for (_, d), b in zip(tl, segs)]
            target = max(round(d) for _, d in pieces) if pieces else 1
            peak = peak_rate(pieces, target)
            try:
                bw = int(rep.get("bandwidth"))
            except (TypeError, ValueError):
                bw = None
            R.check("%s: bandwidth %s within 10%% of the measured peak %.0f" % (rl, bw, peak),
                    bw is not None and peak > 0 and abs(bw - peak) <= 0.10 * peak,
                    "per segment bit/s: %s" % [round(b * 8 / d) for b, d in pieces if d])
            with open(os.path.join(wd, "all.mp4"), "wb") as f:
                f.write(ri.body + b"".join(segs))
            reps_out[rid] = {"all": os.path.join(wd, "all.mp4"), "video": is_video}
    R.check("%s: dash video Representations are %s" % (label, expect_sizes),
            sorted(sizes) == sorted(expect_sizes), repr(sizes))

    # A DASH client's view: ffprobe reads the MPD over HTTP.
    j, err = ffprobe_json(["-show_streams", mpd_url], timeout=180)
    streams = (j or {}).get("streams", [])
    vs = sorted((s.get("width"), s.get("height")) for s in streams
                if s.get("codec_type") == "video")
    R.check("%s: ffprobe of the MPD URL sees every video Representation and the audio" % label,
            j is not None and vs == sorted(expect_sizes) and
            any(s.get("codec_type") == "audio" and s.get("codec_name") == "aac"
                for s in streams), err or "video %s, streams %s" %
            (vs, [s.get("codec_type") for s in streams]))
    return reps_out


def fetch_sheet(url, workdir, name):
    """(JPEG bytes, (width, height)) of a storyboard sheet, or (None, what went wrong)."""
    r = get_url(url)
    if r.status != 200 or (r.header("Content-Type") or "").split(";")[0] != "image/jpeg":
        return None, r.describe()
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, name)
    with open(path, "wb") as f:
        f.write(r.body)
    st, err = probe_stream(path)
    if st is None:
        return None, err
    return r.body, (st.get("width"), st.get("height"))


def check_tiles_match_vtt(rl, vtt_url, tile_at):
    """For the middle of every cue of storyboard.vtt, tile_at(t) ("sheet-N.jpg#xywh=x,y,w,h",
    as a player reading the manifest would find it) must be the tile the WebVTT names."""
    r = get_url(vtt_url)
    cues = vtt_cues(r.body.decode("utf-8", "replace")) if r.status == 200 else []
    wrong = []
    for start, end, payload in cues:
        t = (start + end) / 2
        tile = tile_at(t)
        if tile != payload:
            wrong.append("%.3f s: manifest %s, WebVTT %s" % (t, tile, payload))
    R.check("%s: for each of the %d cues the manifest's tile is the WebVTT's" % (rl, len(cues)),
            cues and not wrong, "; ".join(wrong[:3]) or r.describe())


def check_dash_storyboard(label, mpd_url, aset, total, workdir):
    """The MPD's thumbnail set (DASH-IF IOP 6.2.6) against the files and storyboard.vtt:
    a player that reads only the MPD must find, for any time, the tile the WebVTT names."""
    rl = "%s dash storyboard" % label
    reps = aset.findall(MPD_NS + "Representation")
    tmpl = aset.find(MPD_NS + "SegmentTemplate")
    prop = reps[0].find(MPD_NS + "EssentialProperty") if len(reps) == 1 else None
    grid = re.match(r"^(\d+)x(\d+)$", (prop.get("value") or "") if prop is not None else "")
    ok = (aset.get("mimeType") == "image/jpeg" and len(reps) == 1 and tmpl is not None and
          (tmpl.get("timescale") or "").isdigit() and (tmpl.get("duration") or "").isdigit() and
          tmpl.get("startNumber") == "1" and "$Number$" in (tmpl.get("media") or "") and
          prop.get("schemeIdUri") == "http://dashif.org/thumbnail_tile" and grid is not None and
          (reps[0].get("width") or "").isdigit() and (reps[0].get("height") or "").isdigit())
    if not R.check("%s: image/jpeg set, one Representation with a thumbnail_tile grid and a "
                   "SegmentTemplate@duration" % rl, ok, repr((
                       aset.attrib, [r.attrib for r in reps],
                       tmpl.attrib if tmpl is not None else None,
                       prop.attrib if prop is not None else None))):
        return
    rep = reps[0]
    cols, rows = int(grid.group(1)), int(grid.group(2))
    width, height = int(rep.get("width")), int(rep.get("height"))
    tw, th = width // cols, height // rows
    sheet_s = int(tmpl.get("duration")) / int(tmpl.get("timescale"))
    n_sheets = math.ceil(total / sheet_s - 1e-9)
    R.note("%s: %dx%d tiles of %dx%d, a sheet every %.3f s, %d sheet(s)" %
           (rl, cols, rows, tw, th, sheet_s, n_sheets))
    # Every sheet the template addresses over the period exists, as large as declared:
    # players place a tile by dividing the declared size by the grid.
    sizes, bad = [], []
    for n in range(1, n_sheets + 1):
        url = urllib.parse.urljoin(mpd_url, tmpl.get("media").replace("$Number$", str(n)))
        body, size = fetch_sheet(url, workdir, "dash-sheet-%d.jpg" % n)
        if body is None or size != (width, height):
            bad.append("sheet %d: %s, declared %dx%d" % (n, size, width, height))
        sizes.append(len(body or b""))
    R.check("%s: all %d sheet(s) -> 200 image/jpeg, each %dx%d as declared" %
            (rl, n_sheets, width, height), n_sheets > 0 and not bad, "; ".join(bad[:3]))
    peak = max(sizes) * 8 / sheet_s if sizes else 0
    bw = int(rep.get("bandwidth") or 0)
    R.check("%s: bandwidth %d within 10%% of the largest sheet's rate %.0f" % (rl, bw, peak),
            peak > 0 and abs(bw - peak) <= 0.10 * peak, repr(sizes))

    def tile_at(t):
        k = int(t // sheet_s)
        i = int((t - k * sheet_s) * cols * rows / sheet_s)
        return "sheet-%d.jpg#xywh=%d,%d,%d,%d" % (k + 1, i % cols * tw, i // cols * th, tw, th)
    check_tiles_match_vtt(rl, urllib.parse.urljoin(mpd_url, "storyboard/storyboard.vtt"),
                          tile_at)


def check_hls_storyboard(label, master_url, duration, workdir):
    """The master's EXT-X-IMAGE-STREAM-INF and its image playlist (the Image Media Playlist
    specification v0.4, which Roku and Shaka Player read) against the sheets and the WebVTT."""
    rl = "%s hls storyboard" % label
    r = get_url(master_url)
    text = r.body.decode("utf-8", "replace")
    entries = [parse_attrs(l[len("#EXT-X-IMAGE-STREAM-INF:"):]) for l in text.splitlines()
               if l.startswith("#EXT-X-IMAGE-STREAM-INF:")]
    e = entries[0] if len(entries) == 1 else {}
    res = re.match(r"^(\d+)x(\d+)$", e.get("RESOLUTION", ""))
    if not R.check("%s: one EXT-X-IMAGE-STREAM-INF with BANDWIDTH, RESOLUTION, CODECS=jpeg, URI" %
                   rl, res is not None and e.get("CODECS") == "jpeg" and
                   e.get("BANDWIDTH", "").isdigit() and e.get("URI"), repr(entries)):
        return
    tw, th = int(res.group(1)), int(res.group(2))
    url = urllib.parse.urljoin(master_url, e["URI"])
    r = get_url(url)
    lines = [l.strip() for l in r.body.decode("utf-8", "replace").splitlines() if l.strip()]
    R.note("%s: %s:\n        %s" % (rl, e["URI"], "\n        ".join(lines)))
    R.check("%s: image playlist -> 200, VOD, EXT-X-IMAGES-ONLY, EXT-X-ENDLIST" % rl,
            r.status == 200 and lines[:1] == ["#EXTM3U"] and
            "#EXT-X-PLAYLIST-TYPE:VOD" in lines and "#EXT-X-IMAGES-ONLY" in lines and
            lines[-1:] == ["#EXT-X-ENDLIST"], r.describe())
    sheets, pending = [], {}
    for l in lines:
        if l.startswith("#EXTINF:"):
            pending["dur"] = float(l[len("#EXTINF:"):].split(",")[0])
        elif l.startswith("#EXT-X-TILES:"):
            pending["tiles"] = parse_attrs(l[len("#EXT-X-TILES:"):])
        elif not l.startswith("#"):
            sheets.append(dict(pending, uri=l))
            pending = {}
    layouts = set()
    for sh in sheets:
        t = sh.get("tiles", {})
        m = re.match(r"^(\d+)x(\d+)$", t.get("LAYOUT", ""))
        layouts.add((t.get("RESOLUTION"), m and (int(m.group(1)), int(m.group(2))),
                     float(t.get("DURATION", "0") or 0)))
    layout = next(iter(layouts)) if len(layouts) == 1 else None
    if not R.check("%s: %d sheet(s), each with EXTINF and the same EXT-X-TILES "
                   "(RESOLUTION %s, LAYOUT, DURATION)" % (rl, len(sheets), e["RESOLUTION"]),
                   sheets and all("dur" in sh for sh in sheets) and layout is not None and
                   layout[0] == e["RESOLUTION"] and layout[1] and layout[2] > 0,
                   repr(sheets)):
        return
    (cols, rows), tile_s = layout[1], layout[2]
    total = sum(sh["dur"] for sh in sheets)
    R.check("%s: EXTINFs add up to the duration: %.3f s ~ %.3f s" % (rl, total, duration),
            abs(total - duration) <= 0.25, repr([sh["dur"] for sh in sheets]))
    R.check("%s: every sheet but the last lasts its %d tiles (%.3f s)" %
            (rl, cols * rows, cols * rows * tile_s),
            all(abs(sh["dur"] - cols * rows * tile_s) < 0.001 for sh in sheets[:-1]) and
            sheets[-1]["dur"] <= cols * rows * tile_s + 0.001, repr(sheets))
    # Shaka takes a sheet to be RESOLUTION x LAYOUT (its UI sizes the sprite so).
    bad, pieces = [], []
    for n, sh in enumerate(sheets, 1):
        body, size = fetch_sheet(urllib.parse.urljoin(url, sh["uri"]), workdir,
                                 "hls-sheet-%d.jpg" % n)
        if body is None or size != (cols * tw, rows * th):
            bad.append("%s: %s" % (sh["uri"], size))
        pieces.append((len(body or b""), sh["dur"]))
    R.check("%s: every sheet -> 200 image/jpeg, %dx%d (RESOLUTION x LAYOUT)" %
            (rl, cols * tw, rows * th), not bad, "; ".join(bad[:3]))
    target = max(1, max(round(d) for _, d in pieces))
    peak = peak_rate(pieces, target)
    bw = int(e["BANDWIDTH"])
    R.check("%s: BANDWIDTH %d within 10%% of the measured peak %.0f" % (rl, bw, peak),
            peak > 0 and abs(bw - peak) <= 0.10 * peak, repr(pieces))
    starts = [sum(sh["dur"] for sh in sheets[:k]) for k in range(len(sheets))]

    def tile_at(t):
        k = max(i for i, s0 in enumerate(starts) if s0 <= t)
        i = int((t - starts[k]) / tile_s)
        return "%s#xywh=%d,%d,%d,%d" % (sheets[k]["uri"], i % cols * tw, i // cols * th, tw, th)
    check_tiles_match_vtt(rl, urllib.parse.urljoin(url, "storyboard.vtt"), tile_at)


def check_iframes(label, master_url, duration, workdir):
    """Checks the master's EXT-X-I-FRAME-STREAM-INF entries and every byte range they list."""
    r = get_url(master_url)
    if not R.check("%s: GET master.m3u8 for the I-frame entries -> 200" % label, r.status == 200,
                   r.describe()):
        return
    text = r.body.decode("utf-8", "replace")
    _, _, _, variants = parse_master(text)
    iframes = [parse_attrs(l[len("#EXT-X-I-FRAME-STREAM-INF:"):]) for l in text.splitlines()
               if l.startswith("#EXT-X-I-FRAME-STREAM-INF:")]
    by_res = {a.get("RESOLUTION"): a for a, _ in variants}
    R.check("%s: one EXT-X-I-FRAME-STREAM-INF per video variant" % label,
            sorted(a.get("RESOLUTION", "") for a in iframes) == sorted(by_res),
            "%s vs %s" % ([a.get("RESOLUTION") for a in iframes], sorted(by_res)))
    for a in iframes:
        uri = a.get("URI", "")
        il = "%s %s" % (label, uri)
        need = ("BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "URI")
        R.check("%s: I-FRAME-STREAM-INF has %s, no FRAME-RATE or AUDIO" % (il, ", ".join(need)),
                all(a.get(k) for k in need) and "FRAME-RATE" not in a and "AUDIO" not in a,
                repr(a))
        v = by_res.get(a.get("RESOLUTION"))
        R.check("%s: CODECS is the variant's video codec" % il,
                v is not None and a.get("CODECS") == v.get("CODECS", "").split(",")[0],
                "%r vs %r" % (a.get("CODECS"), v and v.get("CODECS")))
        purl = urllib.parse.urljoin(master_url, uri)
        rp = get_url(purl)
        if not R.check("%s: GET -> 200 application/vnd.apple.mpegurl" % il,
                       rp.status == 200 and (rp.header("Content-Type") or "").split(";")[0] ==
                       "application/vnd.apple.mpegurl", rp.describe()):
            continue
        lines = [l.strip() for l in rp.body.decode("utf-8", "replace").splitlines() if l.strip()]
        target = next((int(l.split(":")[1]) for l in lines
                       if l.startswith("#EXT-X-TARGETDURATION:")), None)
        R.check("%s: EXTM3U, VERSION:7, I-FRAMES-ONLY, MAP init.mp4, VOD, ENDLIST" % il,
                lines[:1] == ["#EXTM3U"] and "#EXT-X-VERSION:7" in lines and
                "#EXT-X-I-FRAMES-ONLY" in lines and '#EXT-X-MAP:URI="init.mp4"' in lines and
                "#EXT-X-PLAYLIST-TYPE:VOD" in lines and lines[-1:] == ["#EXT-X-ENDLIST"] and
                target is not None, short("\n".join(lines), 600))
        entries, extinf, brange = [], None, None
        for l in lines:
            if l.startswith("#EXTINF:"):
                extinf = float(l[len("#EXTINF:"):].split(",")[0])
            elif l.startswith("#EXT-X-BYTERANGE:"):
                n, _, o = l[len("#EXT-X-BYTERANGE:"):].partition("@")
                brange = (int(n), int(o)) if o else None
            elif not l.startswith("#"):
                entries.append((extinf, brange, l))
                extinf = brange = None
        if not R.check("%s: every entry has EXTINF and BYTERANGE len@offset" % il,
                       entries and all(e is not None and b is not None for e, b, _ in entries),
                       repr(entries[:5])):
            continue
        R.check("%s: TARGETDURATION %s >= every rounded EXTINF" % (il, target),
                all(round(e) <= target for e, _, _ in entries), repr([e for e, _, _ in entries]))
        init = get_url(urllib.parse.urljoin(purl, "init.mp4")).body
        wd = os.path.join(workdir, uri.split("/")[0])
        os.makedirs(wd, exist_ok=True)
        # The rung's own keyframe times, from its whole segments in order.
        files = []
        for _, _, u in entries:
            if u not in files:
                files.append(u)
        whole = init + b"".join(get_url(urllib.parse.urljoin(purl, u)).body for u in files)
        with open(os.path.join(wd, "all.mp4"), "wb") as f:
            f.write(whole)
        got, err = first_packets(os.path.join(wd, "all.mp4"), "v:0")
        keys = sorted(p for p, k in got[1] if k) if got else []
        bad_range, bad_frame, times = [], [], []
        for i, (e, (n, o), u) in enumerate(entries):
            rr = get_url(urllib.parse.urljoin(purl, u), headers={"Range": "bytes=%d-%d" %
                                                                  (o, o + n - 1)})
            if rr.status != 206 or len(rr.body) != n or rr.body[4:8] != b"moof":
                bad_range.append("%s %d@%d -> %s, %d bytes, box %r" %
                                 (u, n, o, rr.status, len(rr.body), rr.body[4:8]))
                continue
            path = os.path.join(wd, "i%d.mp4" % (i + 1))
            with open(path, "wb") as f:
                f.write(init + rr.body)
            j, err = ffprobe_json(["-select_streams", "v:0", "-show_entries",
                                   "frame=pts_time,key_frame,pict_type", path])
            frames = (j or {}).get("frames", [])
            if len(frames) != 1 or frames[0].get("key_frame") != 1:
                bad_frame.append("%s %d@%d: %s %s" % (u, n, o, [(f.get("pts_time"),
                                                               f.get("key_frame"),
                                                               f.get("pict_type"))
                                                              for f in frames][:3], short(err)))
                continue
            times.append(float(frames[0]["pts_time"]))
        R.check("%s: each range (Range request) -> 206 starting with a moof box" % il,
                not bad_range, "; ".join(bad_range[:3]))
        R.check("%s: init.mp4 + each range decodes as exactly one video keyframe" % il,
                not bad_frame, "; ".join(bad_frame[:3]))
        cum = [keys[0] + sum(e for e, _, _ in entries[:i]) if keys else None
               for i in range(len(entries))]
        R.check("%s: the ranges' frames are the rung's keyframes, at the EXTINF times" % il,
                len(times) == len(keys) == len(entries) and
                all(abs(t - k) < 0.001 and abs(c - k) < 0.001
                    for t, k, c in zip(times, keys, cum)),
                "decoded %s, keyframes %s, by EXTINF %s" % (times, keys, cum))
        R.check("%s: EXTINF sum %.3f ~ duration %.3f" %
                (il, sum(e for e, _, _ in entries), duration),
                abs(sum(e for e, _, _ in entries) - duration) <= 0.25, "")
        pieces = [(n, e) for e, (n, _), _ in entries]
        peak = peak_rate(pieces, target)
        mean = sum(n for n, _ in pieces) * 8 / sum(e for _, e in pieces)
        try:
            bw, abw = int(a.get("BANDWIDTH")), int(a.get("AVERAGE-BANDWIDTH"))
        except (TypeError, ValueError):
            bw = abw = None
        R.check("%s: BANDWIDTH %s within 10%% of the ranges' peak %.0f" % (il, bw, peak),
                bw is not None and abs(bw - peak) <= 0.10 * peak, "")
        R.check("%s: AVERAGE-BANDWIDTH %s within 10%% of the ranges' mean %.0f" %
                (il, abw, mean), abw is not None and abs(abw - mean) <= 0.10 * mean, "")


# --------------------------------------------------------------------------
# Streaming headers, ranges, CORS, traversal

def check_stream_headers(base, info, poster_url):
    seg_url, init_url = info.get("first_segment"), info.get("init")
    if not seg_url:
        R.check("streaming: have a segment URL to test", False, "no segment downloaded")
        return
    full = info["segment_bytes"]
    r = get_url(seg_url)
    R.check("segment: Content-Type video/iso.segment",
            (r.header("Content-Type") or "").split(";")[0].strip() == "video/iso.segment",
            repr(r.header("Content-Type")))
    R.check("segment: Content-Length equals the body size",
            r.header("Content-Length") == str(len(r.body)) and r.body == full,
            "Content-Length %r, body %d" % (r.header("Content-Length"), len(r.body)))
    cc = r.header("Cache-Control") or ""
    R.check("segment: Cache-Control has public, max-age=31536000, immutable",
            "immutable" in cc and "max-age=31536000" in cc and "public" in cc, repr(cc))
    etag = r.header("ETag")
    R.check("segment: has an ETag", bool(etag), repr(etag))
    R.check("segment: Accept-Ranges: bytes", (r.header("Accept-Ranges") or "") == "bytes",
            repr(r.header("Accept-Ranges")))

    ri = get_url(init_url)
    R.check("init: Content-Type video/mp4",
            ri.status == 200 and (ri.header("Content-Type") or "").split(";")[0].strip() ==
            "video/mp4", "%s %r" % (ri.status, ri.header("Content-Type")))
    R.check("init: Cache-Control immutable", "immutable" in (ri.header("Cache-Control") or ""),
            repr(ri.header("Cache-Control")))

    rr = get_url(seg_url, {"Range": "bytes=0-99"})
    R.check("segment: Range bytes=0-99 -> 206 with the first 100 bytes",
            rr.status == 206 and rr.body == full[:100] and len(rr.body) == 100,
            "%s, %d bytes" % (rr.status, len(rr.body)))
    R.check("segment: 206 has Content-Range bytes 0-99/%d" % len(full),
            (rr.header("Content-Range") or "") == "bytes 0-99/%d" % len(full),
            repr(rr.header("Content-Range")))
    rr = get_url(seg_url, {"Range": "bytes=-50"})
    R.check("segment: Range bytes=-50 -> 206 with the last 50 bytes",
            rr.status == 206 and rr.body == full[-50:],
            "%s, %d bytes, Content-Range %r" % (rr.status, len(rr.body),
                                                rr.header("Content-Range")))
    rr = get_url(seg_url, {"Range": "bytes=999999999-"})
    R.check("segment: Range bytes=999999999- -> 416", rr.status == 416, rr.describe())
    R.check("segment: 416 has Content-Range bytes */%d" % len(full),
            (rr.header("Content-Range") or "") == "bytes */%d" % len(full),
            repr(rr.header("Content-Range")))
    if etag:
        rn = get_url(seg_url, {"If-None-Match": etag})
        R.check("segment: If-None-Match with its ETag -> 304 without a body",
                rn.status == 304 and rn.body == b"", "%s, %d bytes" % (rn.status, len(rn.body)))
        rn = get_url(seg_url, {"If-None-Match": '"not-the-etag"'})
        R.check("segment: If-None-Match with another ETag -> 200", rn.status == 200,
                rn.describe())

    path = urllib.parse.urlsplit(seg_url).path
    rh = raw_get(base, path, "HEAD")
    R.check("segment: HEAD -> 200 with Content-Length %d and no body" % len(full),
            rh.status == 200 and rh.header("Content-Length") == str(len(full)) and rh.body == b"",
            "%s, Content-Length %r, %d body bytes" % (rh.status, rh.header("Content-Length"),
                                                      len(rh.body)))

    origin = "http://player.example"
    ro = get_url(seg_url, {"Origin": origin, "Access-Control-Request-Method": "GET",
                           "Access-Control-Request-Headers": "range"}, method="OPTIONS")
    acao = ro.header("Access-Control-Allow-Origin")
    R.check("segment: OPTIONS preflight -> 204/200 with Access-Control-Allow-Origin",
            ro.status in (200, 204) and acao in ("*", origin), "%s, ACAO %r" % (ro.status, acao))
    acam = ro.header("Access-Control-Allow-Methods") or ""
    R.check("segment: preflight allows GET", "GET" in acam.upper() or acam == "*", repr(acam))
    acah = (ro.header("Access-Control-Allow-Headers") or "").lower()
    R.check("segment: preflight allows the Range header", "range" in acah or acah == "*",
            repr(acah))
    rg = get_url(seg_url, {"Origin": origin})
    R.check("segment: GET with Origin carries Access-Control-Allow-Origin",
            rg.header("Access-Control-Allow-Origin") in ("*", origin),
            repr(rg.header("Access-Control-Allow-Origin")))
    rg = get_url(info["playlist"], {"Origin": origin})
    R.check("playlist: GET with Origin carries Access-Control-Allow-Origin",
            rg.header("Access-Control-Allow-Origin") in ("*", origin),
            repr(rg.header("Access-Control-Allow-Origin")))

    rp = get_url(poster_url)
    R.check("thumbnail: GET -> 200 image/jpeg starting with FF D8",
            rp.status == 200 and (rp.header("Content-Type") or "").split(";")[0].strip() ==
            "image/jpeg" and rp.body[:2] == b"\xff\xd8",
            "%s %r %r" % (rp.status, rp.header("Content-Type"), rp.body[:4]))
    if rp.status == 200:
        pj = os.path.join(tempfile.gettempdir(), "kino-e2e-poster-%d.jpg" % os.getpid())
        with open(pj, "wb") as f:
            f.write(rp.body)
        st, err = probe_stream(pj)
        os.unlink(pj)
        R.check("thumbnail: a JPEG ffprobe decodes, with a size",
                st is not None and st.get("codec_name") == "mjpeg" and
                (st.get("width") or 0) > 0 and (st.get("height") or 0) > 0, err or repr(st))
    rh = raw_get(base, urllib.parse.urlsplit(poster_url).path, "HEAD")
    R.check("thumbnail: HEAD -> 200 with Content-Length and no body",
            rh.status == 200 and rh.header("Content-Length") == str(len(rp.body)) and
            rh.body == b"", "%s %r %d" % (rh.status, rh.header("Content-Length"), len(rh.body)))


def check_traversal(base, mid, data_dir):
    src_name = None
    sdir = os.path.join(data_dir, "sources", mid)
    if os.path.isdir(sdir) and os.listdir(sdir):
        src_name = sorted(os.listdir(sdir))[0]
    R.check("data dir: the source is stored under sources/<id>/", src_name is not None,
            "nothing in %s" % sdir)
    paths = [
        "/media/%s/../../sources/%s/%s" % (mid, mid, src_name or "source"),
        "/media/%s/../../kino.db" % mid,
        "/media/%s/%%2e%%2e/%%2e%%2e/kino.db" % mid,
        "/media/%s/..%%2f..%%2fkino.db" % mid,
        "/media/%s/%%2e%%2e%%2f%%2e%%2e%%2fkino.db" % mid,
        "/media/%s/720p/../../../kino.db" % mid,
        "/media/..%%2f%s/master.m3u8" % mid,
        "/media/%s/%%2fetc%%2fpasswd" % mid,
        "/media/%s/....//....//kino.db" % mid,
    ]
    for p in paths:
        try:
            r = raw_get(base, p)
        except OSError as e:
            R.check("traversal: GET %s -> 404" % p, False, repr(e))
            continue
        leaked = b"SQLite format 3" in r.body or b"root:" in r.body or (
            r.status == 200)
        R.check("traversal: GET %s -> 404" % p, r.status == 404 and not leaked,
                "HTTP %s, %d bytes: %r" % (r.status, len(r.body), r.body[:60]))


# --------------------------------------------------------------------------
# The scenarios

def media_files_for(data_dir, mid):
    hits = []
    for root, dirs, files in os.walk(data_dir):
        for n in dirs + files:
            p = os.path.join(root, n)
            if mid in os.path.relpath(p, data_dir):
                hits.append(os.path.relpath(p, data_dir))
    return hits


def scenario_main(kino_bin, tmp, media_dir):
    data = os.path.join(tmp, "data")
    srv = Server(kino_bin, data, os.path.join(tmp, "server-main.log"), workers=2)
    R.section("main server")
    if not srv.start("main server"):
        srv.kill()
        return
    base = srv.base
    try:
        run_main(srv, base, data, tmp, media_dir)
    except Exception:
        R.check("main scenario ran without a test exception", False, traceback.format_exc())
    finally:
        R.section("main server shutdown")
        srv.stop("main server")
        check_log(srv, "main server")


def check_log(srv, name):
    try:
        with open(srv.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return
    san = [l for l in text.splitlines() if "AddressSanitizer" in l or "runtime error:" in l or
           "LeakSanitizer" in l]
    R.check("%s: no sanitizer reports in the server log" % name, not san,
            "\n".join(san[:10]))
    bad = []
    n = 0
    for l in text.splitlines():
        if l.startswith("--- ") or not l.strip():
            continue  # our own marker line
        n += 1
        try:
            if not isinstance(json.loads(l), dict):
                bad.append(l)
        except ValueError:
            bad.append(l)
    R.check("%s: every log line is a JSON object (%d lines)" % (name, n), not bad,
            "\n".join(short(b, 200) for b in bad[:5]))


def step_health(c):
    base = c.base
    R.section("health")
    r = request(base, "GET", "/health")
    R.check("GET /health -> 200", r.status == 200, r.describe())
    r = request(base, "GET", "/ready")
    R.check("GET /ready -> 200", r.status == 200, r.describe())

    R.section("upload errors")
    body, ctype = multipart([("title", "no file"), ("tags", "a,b")])
    check_problem("POST /api/v1/upload without a file part",
                  request(base, "POST", "/api/v1/upload", body, {"Content-Type": ctype}), 400)
    check_problem("GET /api/v1/media/doesnotexist",
                  request(base, "GET", "/api/v1/media/doesnotexist"), 404)
    check_problem("GET /api/v1/media/doesnotexist/playback",
                  request(base, "GET", "/api/v1/media/doesnotexist/playback"), 404)
    check_problem("GET /api/v1/nosuchthing", request(base, "GET", "/api/v1/nosuchthing"), 404)
    check_problem("POST /api/v1/upload with a JSON body (no file part)",
                  request(base, "POST", "/api/v1/upload", b'{"title": "x"}',
                          {"Content-Type": "application/json"}), (400, 415))


def step_uploads(c):
    base, uploads, order = c.base, c.uploads, c.order
    clip, portrait, notvideo = c.clip, c.portrait, c.notvideo
    R.section("uploads")
    for key, path, title, desc, tags in [
            ("clip", clip, "Clip 720p", "ten seconds of test pattern", "a,b"),
            ("portrait", portrait, "Portrait \u2014 vid\u00e9o \u2713", "a phone video", "phone"),
            ("notvideo", notvideo, "Not a video", "text in disguise", "")]:
        if order:
            time.sleep(1.05)  # distinct created_at even at one-second resolution
        t0 = time.monotonic()
        r = upload(base, path, title, desc, tags)
        m = r.json() if r.status == 201 else None
        if not R.check("upload %s: POST /api/v1/upload -> 201 (%.1fs)" %
                       (key, time.monotonic() - t0), m is not None and isinstance(m, dict)
                       and m.get("id"), r.describe()):
            continue
        mid = m["id"]
        uploads[key] = m
        order.append(mid)
        R.note("%s id %s" % (key, mid))
        ct = (r.header("Content-Type") or "").split(";")[0].strip()
        R.check("upload %s: Content-Type application/json" % key, ct == "application/json",
                repr(r.header("Content-Type")))
        loc = r.header("Location") or ""
        R.check("upload %s: Location header points at /api/v1/media/<id>" % key,
                loc.endswith("/api/v1/media/%s" % mid), repr(loc))
        R.check("upload %s: status queued (or already processing)" % key,
                m.get("status") in ("queued", "processing"), repr(m.get("status")))
        R.check("upload %s: title and description echoed" % key,
                m.get("title") == title and m.get("description") == desc,
                "%r %r" % (m.get("title"), m.get("description")))
        expect_tags = [t for t in tags.split(",") if t]
        R.check("upload %s: tags == %s" % (key, expect_tags), m.get("tags") == expect_tags,
                repr(m.get("tags")))
        R.check("upload %s: owner_id is the uploader's account" % key,
                c.admin_id and m.get("owner_id") == c.admin_id,
                "owner_id %r, uploader %r" % (m.get("owner_id"), c.admin_id))
        R.check("upload %s: visibility defaults to public" % key,
                m.get("visibility") == "public", repr(m.get("visibility")))
        if key == "clip":
            R.check("upload clip: type video", m.get("type") == "video", repr(m.get("type")))
            check_media_shape("upload clip", m)
        # Playback while not ready -> 409.
        rp = request(base, "GET", "/api/v1/media/%s/playback" % mid)
        _, now = get_media(base, mid)
        if now and now.get("status") in ("queued", "processing") and rp.status != 200:
            check_problem("upload %s: GET playback while %s" % (key, now.get("status")), rp, 409)
        elif rp.status == 409:
            check_problem("upload %s: GET playback while not ready" % key, rp, 409)
        else:
            R.note("playback check for %s skipped: status raced to %s (HTTP %s)" %
                   (key, now and now.get("status"), rp.status))


def step_wait(c):
    base, uploads, pollers = c.base, c.uploads, c.pollers
    R.section("wait for transcoding")
    pollers.update({k: Poller(base, "media %s" % k, m["id"]) for k, m in uploads.items()})
    t0 = time.monotonic()
    wait_all(list(pollers.values()))
    R.note("all done in %.1fs" % (time.monotonic() - t0))



def step_clip(c):
    pollers = c.pollers
    R.section("720p clip")
    cm = c.cm = pollers["clip"].media or {}
    R.check("clip: status ready", cm.get("status") == "ready",
            "status %r, error %r" % (cm.get("status"), cm.get("error")))
    ready = cm.get("status") == "ready"
    if ready:
        check_media_shape("clip", cm)
        R.check("clip: progress is 1 when ready", cm.get("progress") == 1, repr(cm.get("progress")))
        R.check("clip: error is null when ready", cm.get("error") is None, repr(cm.get("error")))
        d = cm.get("duration_s")
        R.check("clip: duration_s ~ 10 (+-0.5)", isinstance(d, (int, float)) and
                abs(d - 10) <= 0.5, repr(d))
        R.check("clip: width 1280, height 720", (cm.get("width"), cm.get("height")) ==
                (1280, 720), "%r x %r" % (cm.get("width"), cm.get("height")))
        rend = cm.get("renditions") or []
        got = {x.get("name"): (x.get("width"), x.get("height")) for x in rend}
        ok = (len(rend) == 3 and got.get("720p") == (1280, 720) and
              got.get("480p") in ((854, 480), (852, 480)) and got.get("360p") == (640, 360))
        R.check("clip: renditions 720p 1280x720, 480p 854x480, 360p 640x360", ok, repr(rend))
        for x in rend:
            R.check("clip: rendition %s has bandwidth >= average_bandwidth > 0 and codecs" %
                    x.get("name"),
                    isinstance(x.get("bandwidth"), int) and isinstance(x.get("average_bandwidth"),
                                                                       int) and
                    x["bandwidth"] >= x["average_bandwidth"] > 0 and
                    CODECS_RE.match(x.get("codecs") or "") is not None, repr(x))



def step_clip_playback(c):
    base, tmp, cm, cid = c.base, c.tmp, c.cm, c.cid
    R.section("playback of the 720p clip")
    r = request(base, "GET", "/api/v1/media/%s/playback" % cid)
    pb = r.json() if r.status == 200 else None
    R.check("clip: GET playback -> 200", pb is not None, r.describe())
    hls = c.hls = (pb or {}).get("hls") or ""
    thumb = c.thumb = (pb or {}).get("thumbnail") or ""
    m = PLAY_URL.match(hls)
    c.token = m.group(2) if m else ""
    R.check("clip: playback hls is %s/play/<token>/master.m3u8" % base,
            m is not None and m.group(1) == base and m.group(3) == "master.m3u8", repr(hls))
    R.check("clip: playback thumbnail is %s/play/<the same token>/poster.jpg" % base,
            c.token and thumb == "%s/play/%s/poster.jpg" % (base, c.token), repr(thumb))
    exp = rfc3339_seconds((pb or {}).get("expires_at") or "")
    R.check("clip: playback expires_at is RFC 3339, about an hour from now (a 10 s clip)",
            RFC3339_UTC.match((pb or {}).get("expires_at") or "") is not None and exp and
            3300 <= exp - time.time() <= 3700, repr((pb or {}).get("expires_at")))
    if hls:
        w480 = 852 if any(x.get("width") == 852 for x in cm.get("renditions") or []) else 854
        c.info = check_hls("clip", hls, cm.get("duration_s") or 10.0,
                           [(1280, 720), (w480, 480), (640, 360)],
                           os.path.join(tmp, "dl-clip"), api_media=cm)
        check_iframes("clip", hls, cm.get("duration_s") or 10.0,
                      os.path.join(tmp, "iframes-clip"))
        check_hls_storyboard("clip", hls, cm.get("duration_s") or 10.0,
                             os.path.join(tmp, "hls-storyboard-clip"))
    dash = (pb or {}).get("dash") or ""
    R.check("clip: playback dash is %s/play/<the same token>/manifest.mpd" % base,
            c.token and dash == "%s/play/%s/manifest.mpd" % (base, c.token), repr(dash))
    if dash:
        w480 = 852 if any(x.get("width") == 852 for x in cm.get("renditions") or []) else 854
        check_dash("clip", dash, cm.get("duration_s") or 10.0,
                   [(1280, 720), (w480, 480), (640, 360)], os.path.join(tmp, "dash-clip"))


def step_streaming(c):
    base, info, cid, thumb = c.base, c.info, c.cid, c.thumb
    R.section("streaming headers")
    check_stream_headers(base, info, thumb or "%s/media/%s/poster.jpg" % (base, cid))


def step_traversal(c):
    R.section("path traversal")
    check_traversal(c.base, c.cid, c.data)


def patch_visibility(base, mid, visibility):
    r = request(base, "PATCH", "/api/v1/media/%s" % mid,
                json.dumps({"visibility": visibility}).encode(),
                {"Content-Type": "application/json"})
    j = r.json() if r.status == 200 else None
    return R.check("PATCH visibility %s -> 200 with it" % visibility,
                   isinstance(j, dict) and j.get("visibility") == visibility, r.describe())


def listed_ids(base, anonymous, query=""):
    r = request(base, "GET", "/api/v1/media?limit=100" + query, anonymous=anonymous)
    j = r.json() if r.status == 200 else None
    return [x.get("id") for x in j["items"]] if isinstance(j, dict) else None


def step_access(c):
    """Who may upload, see and play what: the parts of issue 4 this server's flow
    touches (tests/e2e/auth.py has the whole matrix)."""
    base, cid, token, data = c.base, c.cid, c.token, c.data
    R.section("access: uploads need an account")
    before = sorted(os.listdir(os.path.join(data, "tmp")))
    body, ctype = multipart([("title", "refused")], "file", "a.mp4", os.urandom(2 << 20),
                            "video/mp4")
    # The server answers these from the headers and closes: send as curl does, stopping early.
    r, err = send_streaming(base, "/api/v1/upload", {"Content-Type": ctype}, body,
                            anonymous=True)
    if r is None:
        R.check("anonymous upload -> 401", False, "no reply (%r)" % err)
    elif check_problem("anonymous upload", r, 401):
        R.check("anonymous upload: WWW-Authenticate: Bearer",
                (r.header("WWW-Authenticate") or "").startswith("Bearer"),
                repr(r.header("WWW-Authenticate")))
    r, err = send_streaming(base, "/api/v1/upload", {"Content-Type": ctype,
                            "Authorization": "Bearer kk_not_a_real_key"}, body)
    check_problem("upload with an unknown API key", r, 401)
    p = c.srv.add_user("viewer@e2e.example", "e2e viewer password", "viewer")
    R.check("kino user add makes a viewer while the server runs", p.returncode == 0, p.stderr)
    vtoken, _ = c.srv.login("viewer@e2e.example", "e2e viewer password")
    if R.check("the viewer logs in", vtoken is not None, ""):
        r, err = send_streaming(base, "/api/v1/upload", {"Content-Type": ctype,
                                "Authorization": "Bearer " + vtoken}, body)
        check_problem("viewer upload", r, 403)
    R.check("refused uploads: nothing written under the data dir's tmp/",
            sorted(os.listdir(os.path.join(data, "tmp"))) == before,
            repr(sorted(os.listdir(os.path.join(data, "tmp")))))
    # Decided from the headers: the answer comes although not one byte of the body was sent.
    u = urllib.parse.urlsplit(base)
    head = ("POST /api/v1/upload HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\n\r\n" % (u.netloc, ctype, len(body)))
    try:
        with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
            sock.sendall(head.encode("latin-1"))
            reply = sock.recv(65536)
    except OSError as e:
        reply = repr(e).encode()
    R.check("anonymous upload: 401 before any of the body is sent",
            reply.startswith(b"HTTP/1.1 401"), short(reply))
    check_problem("anonymous GET /api/v1/media?owner=me",
                  request(base, "GET", "/api/v1/media?owner=me", anonymous=True), 401)
    mine = listed_ids(base, False, "&owner=me")
    R.check("admin GET /api/v1/media?owner=me lists the admin's uploads",
            mine is not None and cid in mine and set(mine) <= set(c.order), repr(mine))

    R.section("access: plain and signed streaming URLs")
    plain = "/media/%s/master.m3u8" % cid
    signed = "/play/%s/master.m3u8" % token
    rp = request(base, "GET", plain, anonymous=True)
    rs = request(base, "GET", signed, anonymous=True)
    R.check("public media: the plain URL plays without credentials (200)", rp.status == 200,
            rp.describe())
    R.check("public media: the plain and the signed master are the same file",
            rs.status == 200 and rs.body == rp.body, "%s / %s" % (rp.status, rs.status))
    for h in ("Content-Type", "Cache-Control", "ETag"):
        R.check("signed and plain URL: same %s" % h, rs.header(h) == rp.header(h),
                "%r / %r" % (rs.header(h), rp.header(h)))
    rh = raw_get(base, signed, "HEAD")
    R.check("signed URL: HEAD -> 200 with the GET's Content-Length and no body",
            rh.status == 200 and rh.header("Content-Length") == str(len(rs.body)) and
            rh.body == b"", "%s %r" % (rh.status, rh.header("Content-Length")))
    parts = token.split(".")
    mac = parts[3] if len(parts) == 4 else "A" * 43
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    for label, bad in [("tampered", ".".join(parts[:3] + [flipped])),
                       ("unknown key id", ".".join(["nosuchkid"] + parts[1:])),
                       ("rewritten expiry", ".".join(parts[:2] + ["99999999999"] + parts[3:])),
                       ("malformed", "not-a-token")]:
        r = request(base, "GET", "/play/%s/master.m3u8" % bad, anonymous=True)
        if check_problem("%s token" % label, r, 403):
            R.check("%s token: the detail says to get a new URL from /playback" % label,
                    "playback" in str((r.json() or {}).get("detail")), r.describe())
    for p in ["/play/%s/../../kino.db" % token, "/play/%s/%%2e%%2e/%%2e%%2e/kino.db" % token,
              "/play/%s/..%%2f..%%2fkino.db" % token, "/play/%s/processing" % token,
              "/play/%s/nosuchfile.m4s" % token]:
        r = raw_get(base, p)
        R.check("signed traversal or unknown file: GET %s -> 404" % p,
                r.status == 404 and b"SQLite format 3" not in r.body, "HTTP %s" % r.status)

    R.section("access: unlisted")
    if patch_visibility(base, cid, "unlisted"):
        r = request(base, "GET", plain, anonymous=True)
        if check_problem("unlisted media: the plain URL", r, 403):
            R.check("unlisted media: the 403 says to play through /playback",
                    "playback" in str((r.json() or {}).get("detail")), r.describe())
        R.check("unlisted media: the signed URL still plays (200)",
                request(base, "GET", signed, anonymous=True).status == 200, "")
        r, m = get_media(base, cid, anonymous=True)
        R.check("unlisted media: anonymous GET /api/v1/media/<id> -> 200 (anyone with the id)",
                r.status == 200 and (m or {}).get("visibility") == "unlisted", r.describe())
        r = request(base, "GET", "/api/v1/media/%s/playback" % cid, anonymous=True)
        R.check("unlisted media: anonymous GET playback -> 200 with /play/ URLs",
                r.status == 200 and "/play/" in str((r.json() or {}).get("hls")), r.describe())
        anon = listed_ids(base, True)
        R.check("unlisted media: not in the anonymous list",
                anon is not None and cid not in anon, repr(anon))
        R.check("unlisted media: in the admin's list", cid in (listed_ids(base, False) or []), "")

    R.section("access: private")
    if patch_visibility(base, cid, "private"):
        check_problem("private media: anonymous GET /api/v1/media/<id>",
                      request(base, "GET", "/api/v1/media/%s" % cid, anonymous=True), 404)
        check_problem("private media: anonymous GET playback",
                      request(base, "GET", "/api/v1/media/%s/playback" % cid, anonymous=True),
                      404)
        check_problem("private media: the plain URL", request(base, "GET", plain,
                                                              anonymous=True), 404)
        R.check("private media: a URL handed out by /playback keeps playing until it expires",
                request(base, "GET", signed, anonymous=True).status == 200, "")
        anon = listed_ids(base, True)
        R.check("private media: not in the anonymous list", anon is not None and cid not in anon,
                repr(anon))
        r = request(base, "GET", "/api/v1/media/%s/playback" % cid)
        R.check("private media: the admin still gets playback URLs", r.status == 200,
                r.describe())
    check_problem("PATCH visibility 'secret'",
                  request(base, "PATCH", "/api/v1/media/%s" % cid, b'{"visibility": "secret"}',
                          {"Content-Type": "application/json"}), 400)
    if patch_visibility(base, cid, "public"):
        R.check("public again: the plain URL plays",
                request(base, "GET", plain, anonymous=True).status == 200, "")


def step_layout(c):
    R.section("data directory")
    data, cid = c.data, c.cid
    R.check("data dir: kino.db exists", os.path.isfile(os.path.join(data, "kino.db")), data)
    R.check("data dir: media/<id>/master.m3u8 exists for the ready clip",
            os.path.isfile(os.path.join(data, "media", cid, "master.m3u8")),
            repr(sorted(media_files_for(data, cid))[:20]))
    left = [p for p in media_files_for(data, cid) if p.split(os.sep)[0] not in ("media",
                                                                              "sources")]
    R.check("data dir: nothing of the finished job left outside sources/ and media/", not left,
            repr(left[:10]))


# --------------------------------------------------------------------------
# Thumbnails: poster and storyboard

VTT_TIME = r"(\d\d+):(\d\d):(\d\d)\.(\d\d\d)"
VTT_CUE = re.compile(r"^%s --> %s\n(\S+)$" % (VTT_TIME, VTT_TIME), re.M)
XYWH = re.compile(r"^(sheet-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$")


def vtt_cues(text):
    """[(start s, end s, payload)] of a WebVTT track whose cues have a one-line payload."""
    cues = []
    for m in VTT_CUE.finditer(text):
        g = [int(x) for x in m.groups()[:8]]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000.0
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000.0
        cues.append((start, end, m.group(9)))
    return cues


def luma_stats(jpeg_bytes, workdir, name):
    """(signalstats YAVG, luma standard deviation) of a JPEG, or (None, error)."""
    path = os.path.join(workdir, name)
    with open(path, "wb") as f:
        f.write(jpeg_bytes)
    p = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-vf",
                        "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
                        "-f", "null", "-"], capture_output=True, timeout=60)
    m = re.search(rb"lavfi\.signalstats\.YAVG=([0-9.]+)", p.stdout)
    if p.returncode != 0 or not m:
        return None, p.stderr.decode("utf-8", "replace")[-300:]
    p = subprocess.run(["ffmpeg", "-hide_banner", "-v", "error", "-nostdin", "-i", path,
                        "-f", "rawvideo", "-pix_fmt", "gray", "-"], capture_output=True,
                       timeout=60)
    y = p.stdout
    if p.returncode != 0 or not y:
        return None, p.stderr.decode("utf-8", "replace")[-300:]
    mean = sum(y) / len(y)
    std = math.sqrt(sum((v - mean) ** 2 for v in y[::7]) / len(y[::7]))
    return (float(m.group(1)), std), ""


def check_poster_not_black(label, url, workdir):
    r = get_url(url)
    if not R.check("%s: poster GET -> 200 image/jpeg" % label, r.status == 200 and
                   (r.header("Content-Type") or "").split(";")[0].strip() == "image/jpeg",
                   r.describe()):
        return
    stats, err = luma_stats(r.body, workdir, "poster-%s.jpg" % re.sub(r"\W", "_", label))
    R.check("%s: poster decodes (signalstats)" % label, stats is not None, err)
    if stats:
        R.check("%s: poster is not black: mean luma (YAVG) %.1f > 30" % (label, stats[0]),
                stats[0] > 30, "YAVG %.1f" % stats[0])
        R.check("%s: poster has detail: luma standard deviation %.1f > 10" % (label, stats[1]),
                stats[1] > 10, "stddev %.1f" % stats[1])


def check_storyboard(label, url, duration, workdir):
    r = get_url(url)
    ct = r.header("Content-Type") or ""
    R.check("%s: storyboard.vtt GET -> 200 text/vtt" % label, r.status == 200 and
            ct.split(";")[0].strip() == "text/vtt", r.describe())
    R.check("%s: storyboard.vtt says charset=utf-8 and is cacheable like playlists" % label,
            "charset=utf-8" in ct.replace(" ", "").lower() and
            "max-age" in (r.header("Cache-Control") or ""),
            "%r %r" % (ct, r.header("Cache-Control")))
    text = r.body.decode("utf-8", "replace")
    R.check("%s: storyboard.vtt starts with WEBVTT" % label, text.startswith("WEBVTT"),
            short(text, 80))
    cues = vtt_cues(text)
    blocks = [b for b in text.split("\n\n")[1:] if b.strip()]
    R.check("%s: storyboard has cues, each a time range and one sheet#xywh line (%d)" %
            (label, len(cues)), cues and len(cues) == len(blocks), short(text, 300))
    if not cues:
        return
    gaps = [(a, b) for a, b in zip(cues, cues[1:]) if abs(a[1] - b[0]) > 0.0005]
    R.check("%s: cues start at 0 and are contiguous" % label,
            cues[0][0] == 0 and not gaps and all(c[1] > c[0] for c in cues),
            "first %r, gaps %r" % (cues[0], gaps[:3]))
    R.check("%s: last cue ends at the duration %.3f (+-0.05)" % (label, duration),
            abs(cues[-1][1] - duration) <= 0.05, repr(cues[-1]))
    tiles, bad = [], []
    for c in cues:
        m = XYWH.match(c[2])
        if m:
            tiles.append((m.group(1),) + tuple(int(x) for x in m.groups()[1:]))
        else:
            bad.append(c[2])
    R.check("%s: every cue points at sheet-N.jpg#xywh=x,y,w,h" % label, not bad, repr(bad[:3]))
    sizes = {}
    for sheet in sorted(set(t[0] for t in tiles)):
        su = urllib.parse.urljoin(url, sheet)
        rs = get_url(su)
        ok = R.check("%s: %s GET -> 200 image/jpeg" % (label, sheet), rs.status == 200 and
                     (rs.header("Content-Type") or "").split(";")[0].strip() == "image/jpeg",
                     rs.describe())
        if not ok:
            continue
        path = os.path.join(workdir, "%s-%s" % (re.sub(r"\W", "_", label), sheet))
        with open(path, "wb") as f:
            f.write(rs.body)
        st, err = probe_stream(path)
        if R.check("%s: %s is a JPEG ffprobe reads" % (label, sheet), st is not None and
                   st.get("codec_name") == "mjpeg", err or repr(st)):
            sizes[sheet] = (st.get("width") or 0, st.get("height") or 0)
            R.note("%s: %s is %dx%d" % (label, sheet, sizes[sheet][0], sizes[sheet][1]))
    outside = [t for t in tiles if t[0] not in sizes or t[3] <= 0 or t[4] <= 0 or
               t[1] + t[3] > sizes[t[0]][0] or t[2] + t[4] > sizes[t[0]][1]]
    R.check("%s: every #xywh lies inside its sheet" % label, not outside,
            "%r (sheets %r)" % (outside[:3], sizes))
    return tiles


def step_thumbnails(c):
    base, cid, cm = c.base, c.cid, c.cm
    R.section("thumbnails")
    work = os.path.join(c.tmp, "thumbs")
    os.makedirs(work, exist_ok=True)
    r = request(base, "GET", "/api/v1/media/%s/playback" % cid)
    pb = (r.json() if r.status == 200 else None) or {}
    sb = pb.get("storyboard")
    m = PLAY_URL.match(sb or "")
    R.check("clip: playback storyboard is %s/play/<token>/storyboard/storyboard.vtt" % base,
            m is not None and m.group(1) == base and m.group(3) == "storyboard/storyboard.vtt",
            repr(pb))
    if sb:
        tiles = check_storyboard("clip", sb, cm.get("duration_s") or 10.0, work) or []
        R.check("clip: storyboard tiles are 160x90 (16:9)",
                tiles and all((t[3], t[4]) == (160, 90) for t in tiles), repr(tiles[:3]))
    if pb.get("thumbnail"):
        check_poster_not_black("clip", pb["thumbnail"], work)

    # A clip that opens with 3 s of black and a 1 s fade: the poster must show the picture.
    src = os.path.join(work, "black-intro.mp4")
    p = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "color=black:size=640x360:rate=30:duration=3",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=5,fade=in:st=0:d=1",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=8",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "veryfast",
         "-c:a", "aac", "-t", "8", src], capture_output=True, timeout=120)
    if not R.check("black intro: ffmpeg makes the clip", p.returncode == 0,
                   p.stderr.decode("utf-8", "replace")):
        return
    got = upload_until_ready(c, src, "black intro", "Black intro",
                             "3 s of black, a fade, then the picture")
    if not got:
        return
    media, pb = got
    if R.check("black intro: playback has a thumbnail", bool(pb.get("thumbnail")), repr(pb)):
        check_poster_not_black("black intro", pb["thumbnail"], work)
    if pb.get("storyboard"):
        check_storyboard("black intro", pb["storyboard"], media.get("duration_s") or 8.0, work)
    step_long_storyboard(c, work)


def upload_until_ready(c, src, label, title, description):
    """Uploads src and waits for it: (media, playback answer), or None after a failed check."""
    r = upload(c.base, src, title, description, "")
    m = r.json() if r.status == 201 else None
    if not R.check("%s: upload -> 201" % label, isinstance(m, dict) and m.get("id"),
                   r.describe()):
        return None
    c.order.append(m["id"])  # the listing step expects every upload
    poller = Poller(c.base, "media %s" % label, m["id"])
    wait_all([poller])
    if not R.check("%s: status ready" % label, (poller.media or {}).get("status") == "ready",
                   repr(poller.media)):
        return None
    r = request(c.base, "GET", "/api/v1/media/%s/playback" % m["id"])
    return poller.media, (r.json() if r.status == 200 else None) or {}


def step_long_storyboard(c, work):
    """100 s of pictures and sound, small: the storyboard fills sheet 1 exactly, and the
    presentation's last moment (B-frame delay, last AAC frame) takes a tile on sheet 2."""
    src = os.path.join(work, "hundred.mp4")
    p = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=100",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=100",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", src],
        capture_output=True, timeout=120)
    if not R.check("100 s clip: ffmpeg makes it", p.returncode == 0,
                   p.stderr.decode("utf-8", "replace")):
        return
    got = upload_until_ready(c, src, "100 s clip", "A hundred seconds", "two storyboard sheets")
    if not got:
        return
    media, pb = got
    duration = media.get("duration_s") or 100.0
    if pb.get("storyboard"):
        tiles = check_storyboard("100 s clip", pb["storyboard"], duration, work) or []
        R.check("100 s clip: the WebVTT names 100 tiles, all on sheet 1",
                len(tiles) == 100 and all(t[0] == "sheet-1.jpg" for t in tiles),
                repr(tiles[-2:]))
    if pb.get("hls"):
        check_hls_storyboard("100 s clip", pb["hls"], duration, os.path.join(work, "hls-100"))
    r = get_url(pb.get("dash") or "")
    try:
        import xml.etree.ElementTree as ET
        root = ET.fromstring(r.body)
        total = iso_seconds(root.get("mediaPresentationDuration"))
        images = [s for s in root.iter(MPD_NS + "AdaptationSet") if s.get("contentType") == "image"]
    except ET.ParseError as e:
        images, total = [], None
        R.note("100 s clip: manifest.mpd: %s" % e)
    if R.check("100 s clip: manifest.mpd has one image AdaptationSet", len(images) == 1 and total,
               r.describe()):
        check_dash_storyboard("100 s clip", pb["dash"], images[0], total,
                              os.path.join(work, "dash-100"))


def step_keepalive_and_concurrency(c):
    R.section("keep-alive and concurrency")
    urls = list(c.info.get("all_urls") or [])
    if not urls:
        R.check("have stream URLs to fetch", False, "")
        return
    u = urllib.parse.urlsplit(c.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=HTTP_TIMEOUT)
    results = []
    try:
        for path in ["/health", "/api/v1/media/%s" % c.cid,
                     urllib.parse.urlsplit(urls[1]).path, urllib.parse.urlsplit(urls[0]).path,
                     "/api/v1/media/doesnotexist", "/health"]:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            results.append((path, r.status))
        sock_reused = conn.sock is not None
    except (OSError, http.client.HTTPException) as e:
        results.append(("error", repr(e)))
        sock_reused = False
    finally:
        conn.close()
    R.check("keep-alive: six requests on one connection, including a 404, all answered",
            sock_reused and [x[1] for x in results] == [200, 200, 200, 200, 404, 200],
            repr(results))

    import threading
    want = {}
    for url in urls:
        want[url] = get_url(url).body
    errors = []
    lock = threading.Lock()

    def fetch_all(seed):
        order = list(urls)
        random.Random(seed).shuffle(order)
        for url in order:
            try:
                r = get_url(url)
                if r.status != 200 or r.body != want[url]:
                    with lock:
                        errors.append("%s -> %s, %d bytes" % (url, r.status, len(r.body)))
            except OSError as e:
                with lock:
                    errors.append("%s -> %r" % (url, e))
    threads = [threading.Thread(target=fetch_all, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    R.check("concurrency: 16 clients fetching all %d stream files get identical bytes" %
            len(urls), not errors, "; ".join(errors[:5]))



def step_portrait(c):
    base, tmp, uploads, pollers = c.base, c.tmp, c.uploads, c.pollers
    if "portrait" in uploads:
        R.section("portrait clip")
        pm = pollers["portrait"].media or {}
        pid = uploads["portrait"]["id"]
        R.check("portrait: status ready", pm.get("status") == "ready",
                "status %r, error %r" % (pm.get("status"), pm.get("error")))
        rend = pm.get("renditions") or []
        R.check("portrait: one rendition 360x640", len(rend) == 1 and
                (rend[0].get("width"), rend[0].get("height")) == (360, 640), repr(rend))
        R.check("portrait: width 360, height 640, duration ~ 4",
                (pm.get("width"), pm.get("height")) == (360, 640) and
                isinstance(pm.get("duration_s"), (int, float)) and abs(pm["duration_s"] - 4) <= 0.5,
                "%r x %r, %r s" % (pm.get("width"), pm.get("height"), pm.get("duration_s")))
        r = request(base, "GET", "/api/v1/media/%s/playback" % pid)
        pb = r.json() if r.status == 200 else None
        if R.check("portrait: GET playback -> 200", pb is not None, r.describe()):
            check_hls("portrait", pb.get("hls", ""), pm.get("duration_s") or 4.0, [(360, 640)],
                      os.path.join(tmp, "dl-portrait"), api_media=pm)



def step_notvideo(c):
    base, uploads, pollers = c.base, c.uploads, c.pollers
    if "notvideo" in uploads:
        R.section("non-media file")
        nm = pollers["notvideo"].media or {}
        nid = uploads["notvideo"]["id"]
        err = nm.get("error")
        R.check("notvideo: status failed", nm.get("status") == "failed", repr(nm.get("status")))
        R.note("notvideo error: %r" % err)
        readable = (isinstance(err, str) and len(err.strip()) >= 10 and
                    re.search(r"\b(not|no|video|media|audio|recogni[sz]\w*|invalid|unsupported)\b",
                              err, re.I) is not None and
                    not re.match(r"^\s*-?\d+\s*$", err) and
                    not re.match(r"^\s*[A-Z0-9_]+\s*$", err))
        R.check("notvideo: error is a readable sentence saying it is not media", readable,
                repr(err))
        R.check("notvideo: no renditions", not nm.get("renditions"), repr(nm.get("renditions")))
        check_problem("notvideo: GET playback of failed media",
                      request(base, "GET", "/api/v1/media/%s/playback" % nid), 409)
        r = request(base, "GET", "/health")
        R.check("after the failed job: GET /health -> 200", r.status == 200, r.describe())



def step_listing(c):
    base, order = c.base, c.order
    R.section("listing")
    expect = list(reversed(order))
    r = request(base, "GET", "/api/v1/media?limit=1")
    j = r.json() if r.status == 200 else None
    R.check("GET /api/v1/media?limit=1 -> 200 {items:[one], next_cursor:string}",
            isinstance(j, dict) and isinstance(j.get("items"), list) and len(j["items"]) == 1
            and isinstance(j.get("next_cursor"), str) and j["next_cursor"], r.describe())
    seen = []
    cursor = None
    pages = 0
    problem = None
    while pages < 20:
        q = "/api/v1/media?limit=1" + ("&cursor=" + urllib.parse.quote(cursor, safe="")
                                       if cursor else "")
        r = request(base, "GET", q)
        j = r.json() if r.status == 200 else None
        if not isinstance(j, dict) or not isinstance(j.get("items"), list):
            problem = "%s -> %s" % (q, r.describe())
            break
        pages += 1
        seen.extend(x.get("id") for x in j["items"])
        cursor = j.get("next_cursor")
        if cursor is None or not j["items"]:
            break
        if not isinstance(cursor, str):
            problem = "next_cursor %r" % cursor
            break
    R.check("listing: following next_cursor with limit=1 gives every upload once, newest first",
            problem is None and seen == expect, problem or "got %s, expected %s" % (seen, expect))
    r = request(base, "GET", "/api/v1/media")
    j = r.json() if r.status == 200 else None
    R.check("listing: GET /api/v1/media (default limit) -> all, newest first, next_cursor null",
            isinstance(j, dict) and [x.get("id") for x in j.get("items", [])] == expect and
            j.get("next_cursor") is None, r.describe())
    check_problem("GET /api/v1/media?cursor=<garbage>",
                  request(base, "GET", "/api/v1/media?cursor=%21%21not-a-cursor%21%21"), 400)
    for bad in ("0", "101", "1000", "-1", "abc"):
        check_problem("GET /api/v1/media?limit=%s" % bad,
                      request(base, "GET", "/api/v1/media?limit=%s" % bad), 400)



def step_patch(c):
    base, cid = c.base, c.cid
    R.section("PATCH")
    r, before = get_media(base, cid)
    patch = json.dumps({"title": "New", "tags": ["x"]}).encode()
    r = request(base, "PATCH", "/api/v1/media/%s" % cid, patch,
                {"Content-Type": "application/json"})
    j = r.json() if r.status == 200 else None
    R.check("PATCH title+tags -> 200 with the new values",
            isinstance(j, dict) and j.get("title") == "New" and j.get("tags") == ["x"],
            r.describe())
    if isinstance(j, dict) and before:
        R.check("PATCH: description and status unchanged",
                j.get("description") == before.get("description") and
                j.get("status") == before.get("status"), r.describe())
        R.check("PATCH: updated_at not earlier than before",
                isinstance(j.get("updated_at"), str) and
                j["updated_at"] >= (before.get("updated_at") or ""),
                "%r -> %r" % (before.get("updated_at"), j.get("updated_at")))
    r, after = get_media(base, cid)
    R.check("PATCH: GET shows the new values", after is not None and after.get("title") == "New"
            and after.get("tags") == ["x"], r.describe())
    check_problem("PATCH with invalid JSON",
                  request(base, "PATCH", "/api/v1/media/%s" % cid, b"{not json",
                          {"Content-Type": "application/json"}), 400)
    check_problem("PATCH with tags not a list",
                  request(base, "PATCH", "/api/v1/media/%s" % cid, b'{"tags": 5}',
                          {"Content-Type": "application/json"}), 400)
    check_problem("PATCH unknown id",
                  request(base, "PATCH", "/api/v1/media/doesnotexist", patch,
                          {"Content-Type": "application/json"}), 404)



def step_delete_processing(c):
    base, data, clip = c.base, c.data, c.clip
    R.section("DELETE while processing")
    r = upload(base, clip, "to delete", "", "")
    dm = r.json() if r.status == 201 else None
    if R.check("upload for delete-while-processing -> 201", dm is not None, r.describe()):
        did = dm["id"]
        deadline = time.monotonic() + 60
        st = None
        while time.monotonic() < deadline:
            _, m = get_media(base, did)
            st = m and m.get("status")
            if st != "queued":
                break
            time.sleep(0.1)
        R.note("status before DELETE: %s" % st)
        r = request(base, "DELETE", "/api/v1/media/%s" % did)
        R.check("DELETE while %s -> 204" % st, r.status == 204, r.describe())
        r = request(base, "GET", "/api/v1/media/%s" % did)
        R.check("after DELETE: GET -> 404", r.status == 404, r.describe())
        deadline = time.monotonic() + 15
        hits = media_files_for(data, did)
        while hits and time.monotonic() < deadline:
            time.sleep(0.25)
            hits = media_files_for(data, did)
        R.check("after DELETE while processing: no file of it left in the data dir (15 s)",
                not hits, repr(hits[:10]))
        r = request(base, "GET", "/health")
        R.check("after DELETE while processing: GET /health -> 200", r.status == 200,
                r.describe())



def step_delete(c):
    base, data, cid = c.base, c.data, c.cid
    info, hls, thumb = c.info, c.hls, c.thumb
    R.section("DELETE")
    urls = list(info.get("all_urls") or [])
    if hls:
        urls.append(hls)
    if thumb:
        urls.append(thumb)
    R.check("before DELETE: files of the clip exist in the data dir",
            bool(media_files_for(data, cid)), "none found")
    r = request(base, "DELETE", "/api/v1/media/%s" % cid)
    R.check("DELETE /api/v1/media/<id> -> 204", r.status == 204 and r.body == b"", r.describe())
    r = request(base, "GET", "/api/v1/media/%s" % cid)
    check_problem("after DELETE: GET /api/v1/media/<id>", r, 404)
    check_problem("after DELETE: GET playback", request(base, "GET",
                                                        "/api/v1/media/%s/playback" % cid), 404)
    not404 = []
    for u in urls:
        rr = get_url(u)
        if rr.status != 404:
            not404.append("%s -> %s" % (u, rr.status))
    R.check("after DELETE: master, playlists, init, segments and thumbnail -> 404 (%d URLs)" %
            len(urls), urls and not not404, "; ".join(not404[:5]))
    hits = media_files_for(data, cid)
    R.check("after DELETE: no path under the data dir contains the id", not hits,
            repr(hits[:10]))
    r = request(base, "DELETE", "/api/v1/media/%s" % cid)
    check_problem("DELETE again", r, 404)
    r = request(base, "GET", "/api/v1/media")
    j = r.json() if r.status == 200 else None
    R.check("after DELETE: listing no longer has it", isinstance(j, dict) and
            cid not in [x.get("id") for x in j.get("items", [])], r.describe())
    r = request(base, "GET", "/ready")
    R.check("end of main scenario: GET /ready -> 200", r.status == 200, r.describe())


STEPS = [step_health, step_uploads, step_wait, step_clip, step_clip_playback, step_streaming,
         step_thumbnails,
         step_traversal, step_access, step_layout, step_keepalive_and_concurrency, step_portrait,
         step_notvideo, step_listing, step_patch,
         step_delete_processing, step_delete]


def run_main(srv, base, data, tmp, media_dir):
    c = types.SimpleNamespace(
        base=base, data=data, tmp=tmp,
        clip=os.path.join(media_dir, "clip720.mp4"),
        portrait=os.path.join(media_dir, "portrait.mp4"),
        notvideo=os.path.join(media_dir, "notvideo.mp4"),
        uploads={}, order=[], pollers={}, cm={}, cid=None, info={}, hls="", thumb="",
        token="", admin_id=srv.admin_id, srv=srv)
    for step in STEPS:
        try:
            step(c)
        except Exception:
            R.check("%s ran without a test exception" % step.__name__, False,
                    traceback.format_exc())
        if step is step_uploads:
            if "clip" not in c.uploads:
                R.check("the 720p clip was uploaded; later checks need it", False, "")
                return
            c.cid = c.uploads["clip"]["id"]
        if not srv.alive():
            R.check("main server still running after %s" % step.__name__, False,
                    srv.log_tail())
            return


def scenario_too_large(kino_bin, tmp):
    R.section("upload over the limit")
    blob = os.urandom(2 * 1024 * 1024)
    for label, args, env in [("--max-upload 1M", ["--max-upload", "1M"], {}),
                             ("KINO_MAX_UPLOAD=1048576", [], {"KINO_MAX_UPLOAD": "1048576"})]:
        d = os.path.join(tmp, "data-413-%d" % len(args))
        srv = Server(kino_bin, d, os.path.join(tmp, "server-413.log"), workers=1,
                     extra_args=args, extra_env=env)
        name = "server with %s" % label
        if not srv.start(name):
            srv.kill()
            continue
        try:
            body, ctype = multipart([("title", "big")], "file", "big.mp4", blob, "video/mp4")
            r, err = send_streaming(srv.base, "/api/v1/upload", {"Content-Type": ctype}, body)
            if r is None:
                R.check("%s: 2 MB upload -> 413" % name, False,
                        "no reply (connection closed: %r)" % err)
            else:
                check_problem("%s: 2 MB upload" % name, r, 413)
            r = request(srv.base, "GET", "/health")
            R.check("%s: after 413, GET /health -> 200" % name, r.status == 200, r.describe())
            r = request(srv.base, "GET", "/api/v1/media")
            j = r.json() if r.status == 200 else None
            R.check("%s: after 413, no media was created" % name,
                    isinstance(j, dict) and j.get("items") == [], r.describe())
            small, ctype = multipart([("title", "small")], "file", "small.mp4",
                                     os.urandom(100 * 1024), "video/mp4")
            r = request(srv.base, "POST", "/api/v1/upload", small, {"Content-Type": ctype})
            R.check("%s: a 100 KB upload is accepted -> 201" % name, r.status == 201,
                    r.describe())
        except Exception:
            R.check("%s scenario ran without a test exception" % name, False,
                    traceback.format_exc())
        finally:
            srv.stop(name)


def scenario_shutdown(kino_bin, tmp, media_dir):
    R.section("shutdown while a job runs")
    data = os.path.join(tmp, "data-shutdown")
    log = os.path.join(tmp, "server-shutdown.log")
    srv = Server(kino_bin, data, log, workers=1)
    if not srv.start("shutdown server"):
        srv.kill()
        return
    mid = None
    try:
        r = upload(srv.base, os.path.join(media_dir, "clip720.mp4"), "interrupted", "", "")
        m = r.json() if r.status == 201 else None
        if R.check("shutdown server: upload -> 201", m is not None, r.describe()):
            mid = m["id"]
            deadline = time.monotonic() + 60
            st, prog = None, None
            while time.monotonic() < deadline:
                _, m = get_media(srv.base, mid)
                st = m and m.get("status")
                prog = m and m.get("progress")
                if st != "queued":
                    break
                time.sleep(0.05)
            R.check("shutdown server: media reaches processing", st == "processing",
                    "status %r" % st)
            # Interrupt it in the middle of the pipeline, not before it began.
            deadline = time.monotonic() + 15
            while st == "processing" and not prog and time.monotonic() < deadline:
                time.sleep(0.05)
                _, m = get_media(srv.base, mid)
                st = m and m.get("status")
                prog = m and m.get("progress")
            R.note("SIGTERM at status %s, progress %r" % (st, prog))
            if st != "processing":
                mid = None
    except Exception:
        R.check("shutdown scenario ran without a test exception", False, traceback.format_exc())
    srv.stop("shutdown server (job running)")
    if mid is None:
        return
    srv2 = Server(kino_bin, data, log, workers=1)
    if not srv2.start("restarted server"):
        srv2.kill()
        return
    try:
        _, m = get_media(srv2.base, mid)
        R.check("restarted server: the interrupted media is queued or processing, not failed",
                m is not None and m.get("status") in ("queued", "processing"), repr(m))
        p = Poller(srv2.base, "restarted server: interrupted media", mid)
        wait_all([p])
        pm = p.media or {}
        R.check("restarted server: the interrupted media is ready", pm.get("status") == "ready",
                "status %r error %r" % (pm.get("status"), pm.get("error")))
        R.check("restarted server: three renditions", len(pm.get("renditions") or []) == 3,
                repr(pm.get("renditions")))
        r = request(srv2.base, "GET", "/api/v1/media/%s/playback" % mid)
        pb = r.json() if r.status == 200 else None
        if R.check("restarted server: playback -> 200", pb is not None, r.describe()):
            j, err = ffprobe_json(["-show_streams", pb.get("hls", "")], timeout=180)
            types = sorted(set(s.get("codec_type") for s in (j or {}).get("streams", [])))
            R.check("restarted server: ffprobe of the master URL sees video and audio",
                    "video" in types and "audio" in types, err or repr(types))
    except Exception:
        R.check("restart scenario ran without a test exception", False, traceback.format_exc())
    finally:
        srv2.stop("restarted server")
        check_log(srv2, "shutdown/restart servers")


def wait_processing(srv, mid, timeout=60):
    """Poll until the media is processing with some progress; return (status, progress)."""
    deadline = time.monotonic() + timeout
    st, prog = None, None
    while time.monotonic() < deadline:
        _, m = get_media(srv.base, mid)
        st, prog = m and m.get("status"), m and m.get("progress")
        if st not in ("queued", "processing") or (st == "processing" and prog):
            break
        time.sleep(0.05)
    return st, prog


def scenario_crash(kino_bin, tmp, media_dir):
    """SIGKILL mid-job: the lease expires and the restarted server runs the job to the end."""
    R.section("crash while a job runs")
    data = os.path.join(tmp, "data-crash")
    log = os.path.join(tmp, "server-crash.log")
    lease = ["--lease-seconds", "5"]
    srv = Server(kino_bin, data, log, workers=1, extra_args=lease)
    if not srv.start("crash server"):
        srv.kill()
        return
    mid = None
    try:
        r = upload(srv.base, os.path.join(media_dir, "clip720.mp4"), "crashed", "", "")
        m = r.json() if r.status == 201 else None
        if R.check("crash server: upload -> 201", m is not None, r.describe()):
            mid = m["id"]
            st, prog = wait_processing(srv, mid)
            R.note("SIGKILL at status %s, progress %r" % (st, prog))
            if not R.check("crash server: media is processing before the kill",
                           st == "processing", "status %r" % st):
                mid = None
    except Exception:
        R.check("crash scenario ran without a test exception", False, traceback.format_exc())
    srv.kill()
    if mid is None:
        return
    srv2 = Server(kino_bin, data, log, workers=1, extra_args=lease)
    if not srv2.start("server restarted after the crash"):
        srv2.kill()
        return
    try:
        p = Poller(srv2.base, "after the crash: killed media", mid, monotonic=False)
        wait_all([p])
        pm = p.media or {}
        R.check("after the crash: the expired lease went back to the queue and the media is "
                "ready", pm.get("status") == "ready",
                "status %r error %r" % (pm.get("status"), pm.get("error")))
        R.check("after the crash: three renditions", len(pm.get("renditions") or []) == 3,
                repr(pm.get("renditions")))
        with open(log, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        R.check("after the crash: the server logged the requeue",
                "whose worker stopped answering" in text, srv2.log_tail())
        left = os.listdir(os.path.join(data, "tmp", "work")) \
            if os.path.isdir(os.path.join(data, "tmp", "work")) else []
        R.check("after the crash: no work files left behind", left == [], repr(left))
    except Exception:
        R.check("crash scenario (restart) ran without a test exception", False,
                traceback.format_exc())
    finally:
        srv2.stop("server restarted after the crash")
        check_log(srv2, "crash/restart servers")


def scenario_progressive(kino_bin, tmp, media_dir):
    """Playable in seconds: segments and growing playlists are published while the job runs."""
    R.section("playable before the ladder is done")
    data = os.path.join(tmp, "data-progressive")
    # public-url with a trailing slash: the URLs handed out must not get "//media".
    srv = Server(kino_bin, data, os.path.join(tmp, "server-progressive.log"), workers=1,
                 extra_args=["--public-url", "https://cdn.example.test/"])
    if not srv.start("progressive server"):
        srv.kill()
        return
    try:
        r = upload(srv.base, os.path.join(media_dir, "clip720.mp4"), "early", "", "")
        m = r.json() if r.status == 201 else None
        if not R.check("progressive: upload -> 201", m is not None, r.describe()):
            return
        mid = m["id"]
        R.check("progressive: a new upload is not playable", m.get("playable") is False, repr(m))
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            _, m = get_media(srv.base, mid)
            if m is None or m.get("playable") or m.get("status") in ("ready", "failed"):
                break
            time.sleep(0.05)
        early = m is not None and m.get("playable") is True and m.get("status") == "processing"
        R.check("progressive: playable while still processing (progress %r)" %
                (m or {}).get("progress"), early, repr(m))
        if early:
            r = request(srv.base, "GET", "/api/v1/media/%s/playback" % mid)
            pb = r.json() if r.status == 200 else None
            R.check("progressive: playback -> 200 while processing", pb is not None, r.describe())
            R.check("progressive: while processing hls and a first poster are given (storyboard "
                    "and dash are written at the end: null, not URLs that answer 404)",
                    pb is not None and re.match(r"^https://cdn\.example\.test/play/[^/]+/"
                                                r"master\.m3u8$", pb.get("hls") or "") and
                    re.match(r"^https://cdn\.example\.test/play/[^/]+/poster\.jpg$",
                             pb.get("thumbnail") or "") and
                    pb.get("storyboard") is None and pb.get("dash") is None, r.describe())
            # A page shows a picture from the start; the final poster replaces it at the end,
            # so no cache may keep this one.
            poster = request(srv.base, "GET", "/media/%s/poster.jpg" % mid)
            R.check("progressive: the first poster is a JPEG, served no-cache while processing",
                    poster.status == 200 and poster.body[:3] == b"\xff\xd8\xff" and
                    poster.header("Cache-Control") == "no-cache", poster.describe())
            master = request(srv.base, "GET", "/media/%s/master.m3u8" % mid)
            R.check("progressive: growing master is served no-cache",
                    master.status == 200 and master.header("Cache-Control") == "no-cache",
                    master.describe())
            pl = request(srv.base, "GET", "/media/%s/720p/index.m3u8" % mid)
            text = pl.body.decode("utf-8", "replace")
            # Without EXT-X-START, hls.js starts a growing (EVENT) stream three segments
            # before its end, like live TV: a viewer of a 30 s upload started at 18 s.
            R.check("progressive: growing media playlist starts players at the beginning "
                    "(#EXT-X-START:TIME-OFFSET=0)",
                    "#EXT-X-START:TIME-OFFSET=0" in text.splitlines(), short(text))
            R.check("progressive: growing media playlist is an EVENT without ENDLIST, no-cache",
                    pl.status == 200 and "#EXT-X-PLAYLIST-TYPE:EVENT" in text and
                    "#EXT-X-ENDLIST" not in text and pl.header("Cache-Control") == "no-cache",
                    pl.describe())
            segs = [l for l in text.splitlines() if l.endswith(".m4s")]
            ok = bool(segs)
            for name in ["init.mp4"] + segs:
                ok = ok and request(srv.base, "GET", "/media/%s/720p/%s" % (mid, name)).status == 200
            R.check("progressive: every segment the growing playlist lists is there (%d)" %
                    len(segs), ok, text)
        p = Poller(srv.base, "progressive media", mid)
        wait_all([p])
        R.check("progressive: the media becomes ready",
                (p.media or {}).get("status") == "ready", repr(p.media))
        pl = request(srv.base, "GET", "/media/%s/720p/index.m3u8" % mid)
        text = pl.body.decode("utf-8", "replace")
        R.check("progressive: the finished playlist is VOD with ENDLIST and cacheable",
                "#EXT-X-PLAYLIST-TYPE:VOD" in text and "#EXT-X-ENDLIST" in text and
                "max-age=60" in (pl.header("Cache-Control") or ""), pl.describe())
        poster = request(srv.base, "GET", "/media/%s/poster.jpg" % mid)
        R.check("progressive: the final poster is cacheable once ready",
                poster.status == 200 and poster.body[:3] == b"\xff\xd8\xff" and
                "max-age=3600" in (poster.header("Cache-Control") or ""), poster.describe())
        R.check("progressive: the processing marker is not served",
                request(srv.base, "GET", "/media/%s/processing" % mid).status == 404, "")
    except Exception:
        R.check("progressive scenario ran without a test exception", False,
                traceback.format_exc())
    finally:
        srv.stop("progressive server")
        check_log(srv, "progressive server")


def scenario_ready(kino_bin, tmp):
    """/ready answers 503 with the reason while the storage is gone, 200 once it is back."""
    R.section("readiness")
    data = os.path.join(tmp, "data-ready")
    srv = Server(kino_bin, data, os.path.join(tmp, "server-ready.log"), workers=0)
    if not srv.start("readiness server"):
        srv.kill()
        return
    moved = data + ".moved"
    try:
        os.rename(data, moved)  # the storage folder disappears under the running server
        r = request(srv.base, "GET", "/ready")
        check_problem("storage gone: GET /ready", r, 503)
        j = r.json() or {}
        R.check("storage gone: the detail names the storage folder",
                "storage" in str(j.get("detail", "")), r.describe())
        r = request(srv.base, "GET", "/health")
        R.check("storage gone: GET /health still -> 200", r.status == 200, r.describe())
        os.rename(moved, data)
        r = request(srv.base, "GET", "/ready")
        R.check("storage back: GET /ready -> 200", r.status == 200, r.describe())
    except Exception:
        R.check("readiness scenario ran without a test exception", False, traceback.format_exc())
    finally:
        if os.path.isdir(moved):
            os.rename(moved, data)
        srv.stop("readiness server")


# --------------------------------------------------------------------------

def run_in_tmp(prefix, body, log_lines=200):
    """The frame of every e2e runner: make a temporary folder, run body(tmp), count an
    exception as a failed check; on failure keep the folder and print the tail of each
    *.log in it (the servers' logs), else remove it; print the failed checks and the
    summary line. Returns the exit status."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    keep = os.environ.get("KINO_E2E_KEEP") == "1"
    t0 = time.monotonic()
    try:
        body(tmp)
    except Exception:
        R.check("test ran without an exception", False, traceback.format_exc())
    finally:
        if keep or R.failed:
            print("\ntemporary files kept in %s" % tmp)
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log") and R.failed:
                    print("\n----- %s (last %d lines) -----" % (name, log_lines))
                    with open(os.path.join(tmp, name), "rb") as f:
                        data = f.read().decode("utf-8", "replace").splitlines()
                    print("\n".join(data[-log_lines:]))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n(%.1f s)" % (time.monotonic() - t0))
    if R.failures:
        print("failed checks:")
        for name, _ in R.failures:
            print("  - %s" % name)
    print("%d passed, %d failed" % (R.passed, R.failed))
    return 1 if R.failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hls-only", metavar="MASTER_URL",
                    help="only check an HLS ladder at this URL (no server is started)")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--sizes", default="1280x720,854x480,640x360")
    ap.add_argument("--only", default="main,413,ready,shutdown,crash,progressive",
                    help="comma-separated scenarios to run: main, 413, ready, shutdown, crash, "
                         "progressive")
    args = ap.parse_args()

    def body(tmp):
        if args.hls_only:
            sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
            check_hls("hls", args.hls_only, args.duration, sizes, tmp, check_headers=False)
        else:
            run_all(args, tmp)

    return run_in_tmp("kino-e2e-", body)


def prerequisites(tools=("ffmpeg", "ffprobe")):
    """The kino binary under test (KINO_BIN, else build/kino) once it and `tools` are
    checked to be there; None, with the failed check, when one is missing."""
    kino_bin = os.environ.get("KINO_BIN", os.path.join(REPO, "build", "kino"))
    ok = R.check("KINO_BIN %s is executable" % kino_bin, os.access(kino_bin, os.X_OK), "")
    for tool in tools:
        ok = ok and R.check("%s is installed" % tool, shutil.which(tool) is not None, "")
    return kino_bin if ok else None


def run_all(args, tmp):
    kino_bin = prerequisites()
    if not kino_bin:
        return
    R.section("test media")
    media_dir = os.path.join(tmp, "media")
    t0 = time.monotonic()
    p = subprocess.run(["sh", GENERATE, media_dir], capture_output=True)
    if not R.check("tests/media/generate.sh makes the clips (%.1fs)" % (time.monotonic() - t0),
                   p.returncode == 0, p.stderr.decode("utf-8", "replace")):
        return
    only = set(args.only.split(","))
    if "main" in only:
        scenario_main(kino_bin, tmp, media_dir)
    if "413" in only:
        scenario_too_large(kino_bin, tmp)
    if "ready" in only:
        scenario_ready(kino_bin, tmp)
    if "shutdown" in only:
        scenario_shutdown(kino_bin, tmp, media_dir)
    if "crash" in only:
        scenario_crash(kino_bin, tmp, media_dir)
    if "progressive" in only:
        scenario_progressive(kino_bin, tmp, media_dir)


if __name__ == "__main__":
    sys.exit(main())
