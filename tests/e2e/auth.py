#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Accounts and access control end to end (issue 4), against the HTTP contract.

Starts a real `kino serve` (one worker) on a free loopback port with a
temporary data directory, makes one 2 s test clip with the ffmpeg CLI, and:

1. sets up the callers: an admin (`kino user add`), a creator who owns the
   media ("owner"), another creator ("other"), a viewer (registered, then made a
   viewer by the admin), and a user whose access token and API key were made
   before the admin disabled them ("disabled", "disabled-key"), plus anonymous;
2. has the owner upload a public, an unlisted and a private clip;
3. runs the authorization matrix: every endpoint x every caller x every
   visibility against the status written by hand in MATRIX below, prints it as a
   table and fails if any cell differs;
4. token tests: tampered, alg none and unknown-kid access tokens; playback
   tokens for another media, with a changed or past expiry, an unknown kid;
   a refresh token replayed after rotation (and its successor, revoked with the
   family); an access token that really expired when the server lets its life
   be set;
5. login: wrong password, unknown email and disabled account answer alike;
   the rate limits answer 429 with Retry-After (a second server with small
   limits and registration off, which also refuses to register);
   PATCH /api/v1/me (display name; password change with the current password,
   not by API key, signing out other sessions; wrong current passwords count
   as failed logins) and the cap of 100 active API keys;
6. no password used appears in any response body or in the servers' logs.

    KINO_BIN=./build/kino python3 tests/e2e/auth.py

Standard library only; the HTTP, server and result helpers come from run.py.
Prints one line per check and ends with `N passed, N failed`.
KINO_E2E_KEEP=1 keeps the temporary directory.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as e2e  # noqa: E402  (the main e2e test's helpers: Results, Server, Resp, multipart)

R = e2e.R
READY_TIMEOUT = 120.0

CALLERS = ("anonymous", "viewer", "other", "owner", "admin", "disabled", "disabled-key")
VISIBILITIES = ("public", "unlisted", "private")

# The authorization matrix, derived by hand from the contract (/tmp/k/api-spec.md, docs/api.md).
# One row per endpoint and visibility ("-": the endpoint has no media); one column per caller:
#   anonymous     no Authorization header
#   viewer        a viewer's access token (issued while they were still a creator: the role
#                 is read from the account on every request)
#   other         another creator's access token
#   owner         the access token of the creator who uploaded the media
#   admin         an admin's access token
#   disabled      an access token of a user an admin disabled after it was issued
#   disabled-key  that disabled user's API key
# Anonymous callers are told to log in (401) where logging in could help: uploads, and changes
# to media they can see; media they cannot see is 404 for them as for anyone.
# A value is the HTTP status expected, or for the listings "in" / "out": the media is / is not
# in the items (following next_cursor) of a 200 answer.
# Streaming paths (/media/..., /play/...) authorise by visibility or by the token in the path
# alone: the contract gives them no database access but the visibility lookup (plain URLs) or
# none at all (/play/), so they cannot tell a disabled account and answer every caller alike.
MATRIX = [
    # endpoint                          visibility   anon  viewer other owner admin disab d-key
    ("GET /api/v1/media/{id}",           "public",   (200,  200,  200,  200,  200,  401,  401)),
    ("GET /api/v1/media/{id}",           "unlisted", (200,  200,  200,  200,  200,  401,  401)),
    ("GET /api/v1/media/{id}",           "private",  (404,  404,  404,  200,  200,  401,  401)),
    ("PATCH /api/v1/media/{id}",         "public",   (401,  403,  403,  200,  200,  401,  401)),
    ("PATCH /api/v1/media/{id}",         "unlisted", (401,  403,  403,  200,  200,  401,  401)),
    ("PATCH /api/v1/media/{id}",         "private",  (404,  404,  404,  200,  200,  401,  401)),
    ("GET /api/v1/media/{id}/playback",  "public",   (200,  200,  200,  200,  200,  401,  401)),
    ("GET /api/v1/media/{id}/playback",  "unlisted", (200,  200,  200,  200,  200,  401,  401)),
    ("GET /api/v1/media/{id}/playback",  "private",  (404,  404,  404,  200,  200,  401,  401)),
    ("GET /media/{id}/master.m3u8",      "public",   (200,  200,  200,  200,  200,  200,  200)),
    ("GET /media/{id}/master.m3u8",      "unlisted", (403,  403,  403,  403,  403,  403,  403)),
    ("GET /media/{id}/master.m3u8",      "private",  (404,  404,  404,  404,  404,  404,  404)),
    ("GET /play/{token}/master.m3u8",    "public",   (200,  200,  200,  200,  200,  200,  200)),
    ("GET /play/{token}/master.m3u8",    "unlisted", (200,  200,  200,  200,  200,  200,  200)),
    ("GET /play/{token}/master.m3u8",    "private",  (200,  200,  200,  200,  200,  200,  200)),
    ("in GET /api/v1/media",             "public",   ("in", "in", "in", "in", "in", 401,  401)),
    ("in GET /api/v1/media",             "unlisted", ("out","out","out","in", "in", 401,  401)),
    ("in GET /api/v1/media",             "private",  ("out","out","out","in", "in", 401,  401)),
    ("in GET /api/v1/media?owner=me",    "public",   (401,  "out","out","in", "out",401,  401)),
    ("in GET /api/v1/media?owner=me",    "unlisted", (401,  "out","out","in", "out",401,  401)),
    ("in GET /api/v1/media?owner=me",    "private",  (401,  "out","out","in", "out",401,  401)),
    ("GET /api/v1/me",                   "-",        (401,  200,  200,  200,  200,  401,  401)),
    # Each caller sets their display name to the one they have: nothing else sees a change.
    ("PATCH /api/v1/me",                 "-",        (401,  200,  200,  200,  200,  401,  401)),
    ("GET /api/v1/users",                "-",        (401,  403,  403,  403,  200,  401,  401)),
    ("PATCH /api/v1/users/{id}",         "-",        (401,  403,  403,  403,  200,  401,  401)),
    ("POST /api/v1/me/api-keys",         "-",        (401,  201,  201,  201,  201,  401,  401)),
    ("GET /api/v1/me/api-keys",          "-",        (401,  200,  200,  200,  200,  401,  401)),
    ("POST /api/v1/upload",              "-",        (401,  403,  201,  201,  201,  401,  401)),
    # An API key of the owner's, made for the cell: only its owner revokes it.
    ("DELETE /api/v1/me/api-keys/{id}",  "-",        (401,  404,  404,  204,  404,  401,  401)),
    # The account endpoints authenticate by their body (an email and password, or a refresh
    # token), not by the Authorization header, which they do not read: every caller alike.
    ("POST /api/v1/auth/register",       "-",        (201,  201,  201,  201,  201,  201,  201)),
    ("POST /api/v1/auth/login",          "-",        (200,  200,  200,  200,  200,  200,  200)),
    ("POST /api/v1/auth/refresh",        "-",        (200,  200,  200,  200,  200,  200,  200)),
    ("POST /api/v1/auth/logout",         "-",        (204,  204,  204,  204,  204,  204,  204)),
    ("GET /health",                      "-",        (200,  200,  200,  200,  200,  200,  200)),
    # Last: each cell deletes a throwaway media of its own, uploaded by the owner just before.
    ("DELETE /api/v1/media/{id}",        "public",   (401,  403,  403,  204,  204,  401,  401)),
    ("DELETE /api/v1/media/{id}",        "unlisted", (401,  403,  403,  204,  204,  401,  401)),
    ("DELETE /api/v1/media/{id}",        "private",  (404,  404,  404,  204,  204,  401,  401)),
]

NOT_MEDIA = b"this is a text file, not a video; kino's pipeline refuses it at once\n" * 4

BODIES = []     # every response body received, searched for passwords at the end
PASSWORDS = set()  # every password sent, right or wrong


# --------------------------------------------------------------------------
# HTTP

def call(base, method, path, cred=None, body=None, headers=None, source=None):
    """One request on a fresh connection. `cred`: an access token or API key sent as Bearer;
    `body`: bytes, or an object sent as JSON; `source`: the client address to connect from."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=e2e.HTTP_TIMEOUT,
                                      source_address=(source, 0) if source else None)
    hdrs = dict(headers or {})
    if cred:
        hdrs["Authorization"] = "Bearer " + cred
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if body is not None:
        hdrs["Content-Length"] = str(len(body))
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body is not None:
            conn.send(body)
        r = conn.getresponse()
        resp = e2e.Resp(r.status, r.getheaders(), r.read())
    finally:
        conn.close()
    BODIES.append(resp.body)
    return resp


def jbody(r, status):
    """The JSON object of a reply with `status`, else None."""
    j = r.json() if r.status == status else None
    return j if isinstance(j, dict) else None


def upload(base, cred, name, data, title, visibility=None):
    fields = [("title", title)]
    if visibility:
        fields.append(("visibility", visibility))
    body, ctype = e2e.multipart(fields, "file", name, data, "video/mp4")
    return call(base, "POST", "/api/v1/upload", cred, body, {"Content-Type": ctype})


def login(base, email, password, source=None):
    PASSWORDS.add(password)
    return call(base, "POST", "/api/v1/auth/login", body={"email": email, "password": password},
                source=source)


def problem_without_ids(r, replace=None):
    """A problem body without what differs between two requests (request id, instance)."""
    j = r.json()
    if not isinstance(j, dict):
        return r.body
    j = {k: v for k, v in j.items() if k not in ("request_id", "instance")}
    text = json.dumps(j, sort_keys=True)
    return text.replace(replace, "<id>") if replace else text


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_parts(token):
    h, p, s = token.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p)), s


def jwt_join(header, payload, sig):
    return "%s.%s.%s" % (b64e(json.dumps(header, separators=(",", ":")).encode()),
                         b64e(json.dumps(payload, separators=(",", ":")).encode()), sig)


USER_FIELDS = {"id", "email", "display_name", "role", "disabled", "created_at"}


def check_user(name, u, email=None, role=None):
    ok = isinstance(u, dict) and set(u) == USER_FIELDS and (
        email is None or u.get("email") == email) and (role is None or u.get("role") == role)
    R.check("%s: the user object is exactly {%s}%s" % (
        name, ", ".join(sorted(USER_FIELDS)), " with role %s" % role if role else ""), ok,
        json.dumps(u)[:400])


# --------------------------------------------------------------------------
# Setting up: servers, accounts, media

def make_clip(path):
    p = subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
         "-c:a", "aac", "-ac", "2", "-shortest", path], capture_output=True)
    return R.check("ffmpeg makes a 2 s 320x180 clip with sound", p.returncode == 0,
                   p.stderr.decode("utf-8", "replace"))


def cli_user_add(kino_bin, data, email, password, role):
    PASSWORDS.add(password)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
    p = subprocess.run([kino_bin, "user", "add", "--email", email, "--role", role, "--data", data],
                       input=password + "\n", capture_output=True, text=True, env=env, timeout=60)
    R.check("kino user add --email %s --role %s" % (email, role), p.returncode == 0,
            "rc=%d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return p.stdout.split()[0] if p.returncode == 0 and p.stdout.split() else None


class Server:
    """A `kino serve` on a free loopback port, its stdout and stderr in one log file. (Not
    run.py's Server: that one brings its own admin; here the accounts are the test.)"""

    def __init__(self, kino_bin, data, log_path, args):
        self.kino_bin, self.data, self.log_path, self.args = kino_bin, data, log_path, args
        self.proc, self.base = None, None

    def start(self, name):
        port = e2e.free_port()
        self.base = "http://127.0.0.1:%d" % port
        env = {k: v for k, v in os.environ.items() if not k.startswith("KINO_")}
        argv = [self.kino_bin, "serve", "--listen", "127.0.0.1:%d" % port, "--data", self.data]
        argv += self.args
        with open(self.log_path, "ab") as log:
            log.write(("--- %s\n" % " ".join(argv)).encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=env)
        deadline = time.monotonic() + e2e.HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                r = call(self.base, "GET", "/health")
                if r.status == 200:
                    return R.check("%s: starts (%s)" % (name, " ".join(self.args)), True)
                last = r.describe()
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        if self.proc.poll() is not None:
            last = "exited with status %d" % self.proc.returncode
        return R.check("%s: starts (%s)" % (name, " ".join(self.args)), False,
                       "%s\n%s" % (last, self.log_tail()))

    def stop(self, name):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(e2e.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        else:
            rc = "already exited with %d" % self.proc.returncode
        R.check("%s: SIGTERM -> exit 0" % name, rc == 0, "%s\n%s" % (rc, self.log_tail()))
        self.proc = None

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except OSError:
            return ""


class World:
    """What the scenario set up: the server, the callers' credentials, the media."""

    def __init__(self):
        self.base = None
        self.data = None    # the server's data directory (its auth.key signs tokens)
        self.cred = {c: None for c in CALLERS}   # caller -> Bearer credential (None: anonymous)
        self.user = {}      # account name -> user object
        self.password = {}  # account name -> password
        self.email = {}     # account name -> email
        self.refresh = {}   # account name -> refresh token from its login
        self.media = {}     # visibility -> media id (owner's ready clips)
        self.play = {}      # visibility -> playback token from the owner's playback answer


def register_and_login(w, name, display):
    email = "%s@example.com" % name
    password = "pw-%s-%s" % (name, os.urandom(6).hex())
    PASSWORDS.add(password)
    w.email[name], w.password[name] = email, password
    r = call(w.base, "POST", "/api/v1/auth/register",
             body={"email": email, "password": password, "display_name": display})
    j = jbody(r, 201)
    if not R.check("register %s -> 201 {user}" % email, j is not None, r.describe()):
        return False
    check_user("register %s" % name, j.get("user"), email, "creator")
    w.user[name] = j.get("user") or {}
    return log_in(w, name)


def log_in(w, name):
    r = login(w.base, w.email[name], w.password[name])
    j = jbody(r, 200)
    ok = (j is not None and isinstance(j.get("access_token"), str) and
          j.get("token_type") == "Bearer" and j.get("expires_in") == 900 and
          str(j.get("refresh_token", "")).startswith("kr_") and
          isinstance(j.get("refresh_expires_in"), int) and j["refresh_expires_in"] > 0 and
          isinstance(j.get("user"), dict) and j["user"].get("email") == w.email[name])
    R.check("login %s -> 200 {access_token, token_type Bearer, expires_in 900, "
            "refresh_token kr_..., refresh_expires_in, user}" % w.email[name], ok, r.describe())
    if not j:
        return False
    w.refresh[name] = j.get("refresh_token")
    return j.get("access_token")


def setup_callers(w):
    w.cred["admin"] = log_in(w, "admin")
    w.cred["owner"] = register_and_login(w, "owner", "Owen Owner")
    w.cred["other"] = register_and_login(w, "other", "Otto Other")
    w.cred["viewer"] = register_and_login(w, "viewer", "Vera Viewer")
    disabled_token = register_and_login(w, "disabled", "Dora Disabled")
    register_and_login(w, "target", "Tara Target")  # whom PATCH /api/v1/users/{id} is tried on
    if not all(w.cred[c] for c in ("admin", "owner", "other", "viewer")) or not disabled_token:
        return False

    r = call(w.base, "GET", "/api/v1/me", w.cred["admin"])
    j = jbody(r, 200)
    check_user("GET /api/v1/me as the admin", j and j.get("user"), w.email["admin"], "admin")
    r = call(w.base, "GET", "/api/v1/me", None,
             headers={"Authorization": "Bearer  %s \t" % w.cred["admin"]})
    R.check("spaces and a tab around the credential are not part of it -> 200", r.status == 200,
            r.describe())
    w.user["admin"] = (j or {}).get("user") or {}

    # The viewer keeps the token issued while they were a creator: the matrix then shows that
    # the role comes from the account, not from the token.
    r = call(w.base, "PATCH", "/api/v1/users/%s" % w.user["viewer"].get("id"), w.cred["admin"],
             {"role": "viewer"})
    j = jbody(r, 200)
    if j:
        check_user("admin PATCH {role: viewer}", j.get("user"), w.email["viewer"], "viewer")
    else:
        R.check("admin PATCH /api/v1/users/{viewer} {role: viewer} -> 200", False, r.describe())

    r = call(w.base, "POST", "/api/v1/me/api-keys", disabled_token, {"name": "script"})
    j = jbody(r, 201)
    key = j and j.get("key")
    R.check("POST /api/v1/me/api-keys -> 201 {id, name, prefix, created_at, key: kk_...}",
            j is not None and {"id", "name", "prefix", "created_at", "key"} <= set(j) and
            isinstance(key, str) and key.startswith("kk_") and j.get("name") == "script",
            r.describe())
    r = call(w.base, "GET", "/api/v1/me", key)
    R.check("the new API key works: GET /api/v1/me -> 200", r.status == 200, r.describe())
    r = call(w.base, "PATCH", "/api/v1/users/%s" % w.user["disabled"].get("id"), w.cred["admin"],
             {"disabled": True})
    j = jbody(r, 200)
    R.check("admin PATCH {disabled: true} -> 200 {user: disabled true}",
            j is not None and (j.get("user") or {}).get("disabled") is True, r.describe())
    w.cred["disabled"], w.cred["disabled-key"] = disabled_token, key
    r = call(w.base, "POST", "/api/v1/auth/refresh", body={"refresh_token": w.refresh["disabled"]})
    R.check("disabling revokes the account's refresh tokens: POST /auth/refresh -> 401",
            r.status == 401, r.describe())
    return True


def setup_media(w, clip):
    R.section("media")
    with open(clip, "rb") as f:
        data = f.read()
    for v in VISIBILITIES:
        r = upload(w.base, w.cred["owner"], "clip.mp4", data, "%s clip" % v, v)
        j = jbody(r, 201)
        R.check("owner uploads a %s clip -> 201 {owner_id: owner, visibility: %s}" % (v, v),
                j is not None and j.get("owner_id") == w.user["owner"].get("id") and
                j.get("visibility") == v, r.describe())
        if j and j.get("id"):
            w.media[v] = j["id"]
    if len(w.media) != 3:
        return False
    pending = dict(w.media)
    deadline = time.monotonic() + READY_TIMEOUT
    last = {}
    while pending and time.monotonic() < deadline:
        for v, mid in list(pending.items()):
            r = call(w.base, "GET", "/api/v1/media/%s" % mid, w.cred["owner"])
            j = jbody(r, 200)
            last[v] = j.get("status") if j else r.describe()
            if last[v] in ("ready", "failed"):
                del pending[v]
        time.sleep(0.2)
    for v in VISIBILITIES:
        R.check("the %s clip becomes ready within %ds" % (v, READY_TIMEOUT), last.get(v) == "ready",
                "last: %s" % last.get(v))
    for v in VISIBILITIES:
        r = call(w.base, "GET", "/api/v1/media/%s/playback" % w.media[v], w.cred["owner"])
        j = jbody(r, 200)
        urls = [j.get(k) for k in ("hls", "dash", "thumbnail", "storyboard")] if j else []
        tokens = set()
        for u in urls:
            m = re.match(r"^https?://[^/]+/play/([A-Za-z0-9._-]+)/[^?#]+$", u or "")
            tokens.add(m.group(1) if m else None)
        R.check("owner GET playback of the %s clip -> 200 {hls, dash, thumbnail, storyboard, "
                "expires_at}, every URL <base>/play/<one token>/<file>" % v,
                j is not None and len(tokens) == 1 and None not in tokens and
                str(j.get("hls", "")).endswith("/master.m3u8") and
                e2e.RFC3339_UTC.match(str(j.get("expires_at"))) is not None, r.describe())
        if tokens and None not in tokens:
            w.play[v] = tokens.pop()
    return len(w.play) == 3


# --------------------------------------------------------------------------
# The matrix

def listed(w, caller, query, mid):
    """"in" / "out" when every page of the listing answers 200, else the first other status."""
    cursor, ids = None, []
    for _ in range(20):
        q = "/api/v1/media?limit=100" + query + (
            "&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
        r = call(w.base, "GET", q, w.cred[caller])
        j = jbody(r, 200)
        if j is None or not isinstance(j.get("items"), list):
            return (r.status if r.status != 200 else "bad body"), q, r
        ids += [m.get("id") for m in j["items"]]
        cursor = j.get("next_cursor")
        if not cursor:
            break
    return ("in" if mid in ids else "out"), q, r


def do_cell(w, endpoint, v, caller):
    """Make the request of one cell; returns (observed value, request text, response)."""
    cred = w.cred[caller]
    mid = w.media.get(v)
    if endpoint == "in GET /api/v1/media":
        return listed(w, caller, "", mid)
    if endpoint == "in GET /api/v1/media?owner=me":
        return listed(w, caller, "&owner=me", mid)
    body = None
    if endpoint == "GET /api/v1/media/{id}":
        method, path = "GET", "/api/v1/media/%s" % mid
    elif endpoint == "PATCH /api/v1/media/{id}":
        method, path, body = "PATCH", "/api/v1/media/%s" % mid, {"title": "%s clip" % v}
    elif endpoint == "GET /api/v1/media/{id}/playback":
        method, path = "GET", "/api/v1/media/%s/playback" % mid
    elif endpoint == "GET /media/{id}/master.m3u8":
        method, path = "GET", "/media/%s/master.m3u8" % mid
    elif endpoint == "GET /play/{token}/master.m3u8":
        method, path = "GET", "/play/%s/master.m3u8" % w.play[v]
    elif endpoint == "GET /api/v1/me":
        method, path = "GET", "/api/v1/me"
    elif endpoint == "PATCH /api/v1/me":
        method, path = "PATCH", "/api/v1/me"
        body = {"display_name": (w.user.get(caller) or {}).get("display_name") or ""}
    elif endpoint == "GET /api/v1/users":
        method, path = "GET", "/api/v1/users"
    elif endpoint == "PATCH /api/v1/users/{id}":
        method, path, body = "PATCH", "/api/v1/users/%s" % w.user["target"].get("id"), \
            {"role": "creator"}
    elif endpoint == "POST /api/v1/me/api-keys":
        method, path, body = "POST", "/api/v1/me/api-keys", {"name": "matrix %s" % caller}
    elif endpoint == "GET /api/v1/me/api-keys":
        method, path = "GET", "/api/v1/me/api-keys"
    elif endpoint == "POST /api/v1/upload":
        r = upload(w.base, cred, "notvideo.mp4", NOT_MEDIA, "upload by %s" % caller)
        return r.status, "POST /api/v1/upload (multipart, a small file)", r
    elif endpoint == "DELETE /api/v1/me/api-keys/{id}":
        r = call(w.base, "POST", "/api/v1/me/api-keys", w.cred["owner"],
                 {"name": "to revoke by %s" % caller})
        j = jbody(r, 201)
        if not j or not j.get("id"):
            return "setup failed", "owner makes an API key", r
        method, path = "DELETE", "/api/v1/me/api-keys/%s" % j["id"]
    elif endpoint == "POST /api/v1/auth/register":
        password = "pw-matrix-%s" % os.urandom(6).hex()
        PASSWORDS.add(password)
        method, path, body = "POST", "/api/v1/auth/register", \
            {"email": "matrix-%s@example.com" % caller, "password": password}
    elif endpoint == "POST /api/v1/auth/login":
        method, path, body = "POST", "/api/v1/auth/login", \
            {"email": w.email["owner"], "password": w.password["owner"]}
    elif endpoint in ("POST /api/v1/auth/refresh", "POST /api/v1/auth/logout"):
        j = jbody(login(w.base, w.email["owner"], w.password["owner"]), 200)
        if not j:
            return "setup failed", "owner logs in for a refresh token", None
        method, path = endpoint.split()
        body = {"refresh_token": j["refresh_token"]}
    elif endpoint == "GET /health":
        method, path = "GET", "/health"
    elif endpoint == "DELETE /api/v1/media/{id}":
        r = upload(w.base, w.cred["owner"], "notvideo.mp4", NOT_MEDIA, "to delete", v)
        j = jbody(r, 201)
        if not j or not j.get("id"):
            return "setup failed", "owner uploads a throwaway %s media" % v, r
        method, path = "DELETE", "/api/v1/media/%s" % j["id"]
    else:
        raise ValueError(endpoint)
    r = call(w.base, method, path, cred, body)
    return r.status, "%s %s%s" % (method, path, " " + json.dumps(body) if body else ""), r


def run_matrix(w):
    R.section("authorization matrix")
    got = {}
    unauthorized_without_challenge = []
    for endpoint, v, expected in MATRIX:
        mismatches = []
        for caller, want in zip(CALLERS, expected):
            value, req, r = do_cell(w, endpoint, v, caller)
            got[(endpoint, v, caller)] = value
            if value != want:
                mismatches.append("%s as %s: got %s, expected %s\n  request: %s\n  answer: %s" %
                                  (endpoint, caller, value, want, req, r.describe()))
            if r.status == 401 and not (r.header("WWW-Authenticate") or "").startswith(
                    'Bearer realm="kino"'):
                unauthorized_without_challenge.append("%s as %s: WWW-Authenticate %r" % (
                    req, caller, r.header("WWW-Authenticate")))
        R.check("matrix: %s (%s): every caller as expected" % (endpoint, v), not mismatches,
                "\n".join(mismatches))
    R.check("matrix: every 401 carries WWW-Authenticate: Bearer realm=\"kino\"",
            not unauthorized_without_challenge, "\n".join(unauthorized_without_challenge[:5]))
    print_matrix(got)


def print_matrix(got):
    cols = [len(c) for c in CALLERS]
    ew = max(len(e) for e, _, _ in MATRIX)
    head = "%-*s  %-8s  " % (ew, "endpoint", "media") + "  ".join(
        "%-*s" % (n, c) for n, c in zip(cols, CALLERS))
    print("\nauthorization matrix (observed; '!want' marks a cell that differs from the contract)")
    print(head)
    print("-" * len(head))
    for endpoint, v, expected in MATRIX:
        cells = []
        for n, caller, want in zip(cols, CALLERS, expected):
            value = got.get((endpoint, v, caller))
            text = str(value) if value == want else "%s!%s" % (value, want)
            cells.append("%-*s" % (n, text))
        print("%-*s  %-8s  " % (ew, endpoint, v) + "  ".join(cells))
    print(flush=True)


# --------------------------------------------------------------------------
# Around the matrix: answers the contract describes beyond a status

def check_details(w):
    R.section("answers beyond the status")
    viewer = w.cred["viewer"]
    fake = "".join(reversed(w.media["private"]))  # the same shape, no such media
    for method, suffix in (("GET", ""), ("GET", "/playback"), ("PATCH", ""), ("DELETE", "")):
        body = {"title": "x"} if method == "PATCH" else None
        a = call(w.base, method, "/api/v1/media/%s%s" % (w.media["private"], suffix), viewer, body)
        b = call(w.base, method, "/api/v1/media/%s%s" % (fake, suffix), viewer, body)
        R.check("%s /api/v1/media/{private}%s as a viewer answers exactly as a missing id "
                "(status, body but for ids)" % (method, suffix),
                a.status == b.status == 404 and
                problem_without_ids(a, w.media["private"]) == problem_without_ids(b, fake),
                "private: %s\nmissing: %s" % (a.describe(), b.describe()))

    # The relative URIs in a playlist resolve under the same token, for anyone who has it.
    tok = w.play["private"]
    r = call(w.base, "GET", "/play/%s/master.m3u8" % tok)
    variants = [line for line in r.body.decode("utf-8", "replace").splitlines()
                if line and not line.startswith("#")] if r.status == 200 else []
    R.check("anonymous GET /play/<token>/master.m3u8 of the private clip lists variants",
            bool(variants), r.describe())
    if variants:
        url = urllib.parse.urljoin("/play/%s/master.m3u8" % tok, variants[0])
        r = call(w.base, "GET", url)
        lines = r.body.decode("utf-8", "replace").splitlines() if r.status == 200 else []
        R.check("its first variant %s -> 200 under the same token" % url,
                url.startswith("/play/%s/" % tok) and r.status == 200, r.describe())
        maps = [m.group(1) for m in (re.search(r'#EXT-X-MAP:URI="([^"]+)"', x) for x in lines) if m]
        segs = [x for x in lines if x and not x.startswith("#")]
        for what, rel in (("init segment", maps[0] if maps else None),
                          ("first segment", segs[0] if segs else None)):
            if rel is None:
                R.check("the variant playlist has an %s" % what, False, "\n".join(lines[:20]))
                continue
            u = urllib.parse.urljoin(url, rel)
            r = call(w.base, "GET", u)
            R.check("its %s %s -> 200 under the same token" % (what, u),
                    u.startswith("/play/%s/" % tok) and r.status == 200 and len(r.body) > 0,
                    r.describe())
    r = call(w.base, "GET", "/media/%s/master.m3u8" % w.media["unlisted"])
    j = r.json() if r.status == 403 else None
    R.check("plain URL of the unlisted clip -> 403 whose detail points at /playback",
            isinstance(j, dict) and "/playback" in str(j.get("detail")), r.describe())
    for path in ("/play/%s/../%s/master.m3u8" % (tok, w.media["public"]),
                 "/play/%s/%%2e%%2e/%s/master.m3u8" % (tok, w.media["public"])):
        r = e2e.raw_get(w.base, path)
        R.check("GET %s (out of the token's media) is refused" % path, r.status in (400, 403, 404),
                "HTTP %s %r" % (r.status, r.body[:80]))

    # Visibility is changed by PATCH and takes effect at once; a playback token stays good
    # (it binds the media, not its visibility).
    pub, owner = w.media["public"], w.cred["owner"]
    r = call(w.base, "PATCH", "/api/v1/media/%s" % pub, owner, {"visibility": "private"})
    R.check("owner PATCH {visibility: private} on the public clip -> 200 visibility private",
            (jbody(r, 200) or {}).get("visibility") == "private", r.describe())
    got = [call(w.base, "GET", path, cred).status for path, cred in (
        ("/api/v1/media/%s" % pub, None), ("/api/v1/media/%s" % pub, viewer),
        ("/media/%s/master.m3u8" % pub, None), ("/play/%s/master.m3u8" % w.play["public"], None))]
    R.check("then: anonymous and viewer GET -> 404, plain URL -> 404, its /play/ URL -> 200",
            got == [404, 404, 404, 200], str(got))
    r = call(w.base, "PATCH", "/api/v1/media/%s" % pub, owner, {"visibility": "secret"})
    e2e.check_problem("PATCH {visibility: secret}", r, 400)
    r = call(w.base, "PATCH", "/api/v1/media/%s" % pub, owner, {"visibility": "public"})
    got = [r.status, call(w.base, "GET", "/api/v1/media/%s" % pub).status,
           call(w.base, "GET", "/media/%s/master.m3u8" % pub).status]
    R.check("PATCH back to public -> 200; anonymous GET and plain URL -> 200 again",
            got == [200, 200, 200], str(got))

    # Uploads: public by default, owned by the uploader; a failed private upload is still 404
    # to others (not 409: that would say it exists).
    r = upload(w.base, w.cred["other"], "notvideo.mp4", NOT_MEDIA, "default visibility")
    j = jbody(r, 201)
    R.check("upload without visibility -> 201 {visibility: public, owner_id: the uploader}",
            j is not None and j.get("visibility") == "public" and
            j.get("owner_id") == w.user["other"].get("id"), r.describe())
    r = upload(w.base, owner, "notvideo.mp4", NOT_MEDIA, "broken and private", "private")
    bad = (jbody(r, 201) or {}).get("id")
    deadline, st = time.monotonic() + 30, None
    while bad and time.monotonic() < deadline:
        st = (jbody(call(w.base, "GET", "/api/v1/media/%s" % bad, owner), 200) or {}).get("status")
        if st in ("ready", "failed"):
            break
        time.sleep(0.1)
    if R.check("a private upload of a text file fails", st == "failed", "status %r" % st):
        got = [call(w.base, "GET", "/api/v1/media/%s/playback" % bad, cred).status
               for cred in (owner, viewer, None)]
        R.check("GET playback of it: owner 409 (not playable), viewer and anonymous 404",
                got == [409, 404, 404], str(got))

    # Admin endpoints: the answers other than the matrix's.
    admin = w.cred["admin"]
    r = call(w.base, "GET", "/api/v1/users?limit=100", admin)
    j = jbody(r, 200)
    items = (j or {}).get("items") or []
    R.check("admin GET /api/v1/users -> 200 {items: [user...], next_cursor}, every account",
            j is not None and "next_cursor" in j and all(set(u) == USER_FIELDS for u in items) and
            {u.get("email") for u in items} >= set(w.email.values()), r.describe())
    ids, cursor, pages = [], None, 0
    while pages < 20:
        r = call(w.base, "GET", "/api/v1/users?limit=1" + (
            "&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else ""), admin)
        j = jbody(r, 200)
        if j is None:
            break
        pages += 1
        ids += [u.get("id") for u in j.get("items") or []]
        cursor = j.get("next_cursor")
        if not cursor:
            break
    R.check("admin GET /api/v1/users?limit=1 following next_cursor: every account once",
            sorted(ids) == sorted(u.get("id") for u in items) and len(ids) == len(set(ids)) > 1,
            "%s vs %s" % (ids, [u.get("id") for u in items]))
    for bad in ("0", "101"):
        e2e.check_problem("admin GET /api/v1/users?limit=%s" % bad,
                          call(w.base, "GET", "/api/v1/users?limit=%s" % bad, admin), 400)
    for name, body, want in (("admin changing their own role", {"role": "creator"}, 409),
                             ("admin disabling themselves", {"disabled": True}, 409)):
        r = call(w.base, "PATCH", "/api/v1/users/%s" % w.user["admin"].get("id"), admin, body)
        e2e.check_problem(name, r, want)
    e2e.check_problem("admin PATCH /api/v1/users/<unknown id>",
                      call(w.base, "PATCH", "/api/v1/users/nosuchuser00000", admin,
                           {"role": "viewer"}), 404)
    r = call(w.base, "GET", "/api/v1/me", admin)
    R.check("after the refused PATCHes the admin is still an enabled admin",
            ((jbody(r, 200) or {}).get("user") or {}).get("role") == "admin" and
            not ((jbody(r, 200) or {}).get("user") or {}).get("disabled"), r.describe())

    # API keys: listed without the secret, revoked by their owner, refused once revoked.
    owner = w.cred["owner"]
    r = call(w.base, "POST", "/api/v1/me/api-keys", owner, {"name": "to revoke"})
    j = jbody(r, 201)
    if not R.check("owner creates an API key -> 201", j is not None and j.get("key"), r.describe()):
        return
    key, kid = j["key"], j.get("id")
    r = call(w.base, "GET", "/api/v1/me/api-keys", owner)
    items = (jbody(r, 200) or {}).get("items") or []
    mine = [k for k in items if k.get("id") == kid]
    R.check("GET /api/v1/me/api-keys lists it {id, name, prefix, created_at, last_used_at, "
            "revoked_at: null} and never the key", len(mine) == 1 and
            {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at"} <= set(mine[0]) and
            mine[0].get("revoked_at") is None and key.encode() not in r.body, r.describe())
    r = call(w.base, "GET", "/api/v1/me/api-keys", w.cred["other"])
    R.check("another creator's key list does not show it", r.status == 200 and
            kid.encode() not in r.body, r.describe())
    r = call(w.base, "DELETE", "/api/v1/me/api-keys/%s" % kid, w.cred["other"])
    e2e.check_problem("another creator DELETE /api/v1/me/api-keys/{owner's key}", r, 404)
    r = call(w.base, "GET", "/api/v1/me", key)
    R.check("the key works: GET /api/v1/me -> 200 as the owner", r.status == 200 and
            ((jbody(r, 200) or {}).get("user") or {}).get("email") == w.email["owner"],
            r.describe())
    r = call(w.base, "DELETE", "/api/v1/me/api-keys/%s" % kid, owner)
    R.check("owner DELETE /api/v1/me/api-keys/{id} -> 204", r.status == 204, r.describe())
    r = call(w.base, "GET", "/api/v1/media/%s" % w.media["public"], key)
    R.check("the revoked key -> 401, even on a public media", r.status == 401, r.describe())
    e2e.check_problem("DELETE the revoked key again", call(
        w.base, "DELETE", "/api/v1/me/api-keys/%s" % kid, owner), 404)


def check_paging(w):
    """Filtering in SQL: listing pages are full until the last, whoever asks."""
    R.section("listing pages")
    for caller in ("anonymous", "viewer", "owner"):
        r = call(w.base, "GET", "/api/v1/media?limit=100", w.cred[caller])
        full = [m.get("id") for m in (jbody(r, 200) or {}).get("items") or []]
        pages, cursor, problem = [], None, None
        for _ in range(100):
            q = "/api/v1/media?limit=2" + (
                "&cursor=" + urllib.parse.quote(cursor, safe="") if cursor else "")
            r = call(w.base, "GET", q, w.cred[caller])
            j = jbody(r, 200)
            if j is None:
                problem = "%s -> %s" % (q, r.describe())
                break
            pages.append([m.get("id") for m in j.get("items") or []])
            cursor = j.get("next_cursor")
            if not cursor:
                break
        short_pages = [i for i, p in enumerate(pages[:-1]) if len(p) != 2]
        R.check("%s: GET /api/v1/media?limit=2 pages: full pages until the last, together the "
                "whole listing (%d media)" % (caller, len(full)),
                problem is None and not short_pages and sum(pages, []) == full and len(full) > 2,
                problem or "pages %s, whole listing %s" % (pages, full))


# --------------------------------------------------------------------------
# Tokens

def check_access_tokens(w):
    R.section("access tokens")
    token = w.cred["owner"]
    header, payload, sig = jwt_parts(token)
    pub = "/api/v1/media/%s" % w.media["public"]
    forged = {
        "exp changed, signature kept": jwt_join(header, dict(payload, exp=payload["exp"] + 3600),
                                                sig),
        "alg none, no signature": jwt_join(dict(header, alg="none"), payload, ""),
        "alg none, signature kept": jwt_join(dict(header, alg="none"), payload, sig),
        "unknown kid": jwt_join(dict(header, kid="nosuchkey"), payload, sig),
        "role admin, signature kept": jwt_join(header, dict(payload, role="admin"), sig),
        "signature of another token": token.rsplit(".", 1)[0] + "." +
                                      w.cred["other"].rsplit(".", 1)[1],
    }
    r = call(w.base, "GET", "/api/v1/me", token)
    R.check("the untouched token -> GET /api/v1/me 200", r.status == 200, r.describe())
    for what, t in forged.items():
        for path in ("/api/v1/me", pub):
            r = call(w.base, "GET", path, t)
            R.check("access token with %s -> GET %s 401 with WWW-Authenticate" % (what, path),
                    r.status == 401 and (r.header("WWW-Authenticate") or "").startswith(
                        'Bearer realm="kino"'), r.describe())
    for what, h in (("Basic credentials", "Basic b3duZXI6cHc="), ("an empty Bearer", "Bearer "),
                    ("a refresh token as Bearer", "Bearer " + w.refresh["owner"])):
        r = call(w.base, "GET", pub, headers={"Authorization": h})
        R.check("%s on a public media -> 401 (never anonymous)" % what, r.status == 401,
                r.describe())


def check_playback_tokens(w):
    R.section("playback tokens")
    x, y = w.media["private"], w.media["unlisted"]
    tok = w.play["private"]
    parts = tok.split(".")
    if not R.check("playback token is <kid>.<media id>.<expires>.<mac>",
                   len(parts) == 4 and parts[1] == x and parts[2].isdigit(), tok):
        return
    kid, _, exp, mac = parts
    r = call(w.base, "GET", "/play/%s/master.m3u8" % tok)
    R.check("the untouched token -> 200", r.status == 200, r.describe())
    bad = {
        "the media id swapped to another media's": "%s.%s.%s.%s" % (kid, y, exp, mac),
        "its expiry moved later": "%s.%s.%d.%s" % (kid, x, int(exp) + 3600, mac),
        "its expiry moved into the past (expired)": "%s.%s.%d.%s" % (kid, x, 1000000000, mac),
        "an unknown key id": "%s.%s.%s.%s" % ("nosuchkey", x, exp, mac),
        "a changed MAC": "%s.%s.%s.%s" % (kid, x, exp, ("A" if mac[0] != "A" else "B") + mac[1:]),
        "garbage": "not-a-token",
    }
    for what, t in bad.items():
        r = call(w.base, "GET", "/play/%s/master.m3u8" % t)
        j = r.json() if r.status == 403 else None
        R.check("playback token with %s -> 403 whose detail says to get a new URL from /playback"
                % what, isinstance(j, dict) and "playback" in str(j.get("detail")),
                r.describe())
    r = call(w.base, "GET", "/play/%s/master.m3u8" % w.play["unlisted"])
    R.check("the other media's own token -> 200", r.status == 200, r.describe())


def read_signing_key(data):
    """(kid, secret) of the current key in <data>/auth.key: "<kid> <base64url secret>", the
    first key line signs (docs/internals/auth.md)."""
    with open(os.path.join(data, "auth.key")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                kid, secret = line.split()
                return kid, b64d(secret)
    raise ValueError("no key in auth.key")


def hs256(secret, header, payload):
    unsigned = "%s.%s" % (b64e(json.dumps(header, separators=(",", ":")).encode()),
                          b64e(json.dumps(payload, separators=(",", ":")).encode()))
    return unsigned + "." + b64e(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())


def play_sign(secret, kid, media_id, expires):
    play_key = hmac.new(secret, b"kino playback token v1", hashlib.sha256).digest()
    msg = "%s.%s.%d" % (kid, media_id, expires)
    return msg + "." + b64e(hmac.new(play_key, msg.encode(), hashlib.sha256).digest())


def check_signed_with_the_key(w):
    """Tokens that are well signed, with the server's own key from the data directory (as
    another service given the key would sign them), but say something the server must refuse:
    expired, for nobody, from the future. And a signed role claim the account does not have."""
    R.section("well-signed tokens the server must still refuse")
    kid, secret = read_signing_key(w.data)
    header, payload, sig = jwt_parts(w.cred["owner"])
    if not R.check("the test signs the owner's access token claims into the very same token "
                   "(HS256 with the key of auth.key)",
                   header.get("kid") == kid and hs256(secret, header, payload) == w.cred["owner"],
                   "header %s, payload %s" % (header, payload)):
        return
    R.check("the access token lives 900 s (exp - iat)", payload["exp"] - payload["iat"] == 900,
            str(payload))
    now = int(time.time())
    cases = [
        ("expired a minute ago", dict(payload, iat=now - 960, exp=now - 60), "/api/v1/me", 401),
        ("expired this second", dict(payload, iat=now - 900, exp=now), "/api/v1/me", 401),
        ("issued an hour ahead", dict(payload, iat=now + 3600, exp=now + 4500), "/api/v1/me", 401),
        ("for a user that does not exist", dict(payload, sub="nosuchuser00000"), "/api/v1/me", 401),
        ("signed role admin for a creator: the account's role counts",
         dict(payload, role="admin"), "/api/v1/users", 403),
        ("valid, re-signed by the test (control)", dict(payload, iat=now - 10, exp=now + 600),
         "/api/v1/me", 200),
    ]
    for what, claims, path, want in cases:
        r = call(w.base, "GET", path, hs256(secret, header, claims))
        R.check("access token %s -> GET %s %d" % (what, path, want), r.status == want,
                r.describe())

    tok = w.play["private"]
    t_kid, mid, exp, _ = tok.split(".")
    if not R.check("the test re-signs the private clip's playback token into the very same one",
                   t_kid == kid and play_sign(secret, kid, mid, int(exp)) == tok, tok):
        return
    for what, t, want in (
            ("expired a second ago", play_sign(secret, kid, mid, now - 1), 403),
            ("for another media, well signed, on its own URL",
             play_sign(secret, kid, w.media["unlisted"], now + 600), 200),
            ("valid for an hour (control)", play_sign(secret, kid, mid, now + 3600), 200)):
        r = call(w.base, "GET", "/play/%s/master.m3u8" % t)
        R.check("playback token %s -> %d" % (what, want), r.status == want, r.describe())



def write_key_file(data, lines):
    """Replace <data>/auth.key with `lines` ("<kid> <secret>", the first signs), mode 0600 as
    kino requires, the way an operator rotating keys would."""
    path = os.path.join(data, "auth.key")
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# rotated by e2e-auth\n" + "".join(l + "\n" for l in lines))
    os.replace(path + ".new", path)


def check_key_rotation(w, srv):
    """docs/operations.md, "Rotating the signing key": a new key on top of auth.key signs from
    the next start while links signed with the old one keep working; once the old key is
    removed they stop."""
    R.section("signing key rotation")
    old_kid, old_secret = read_signing_key(w.data)
    old_access, old_play = w.cred["owner"], w.play["private"]
    new_line = "rotated-2 " + b64e(os.urandom(32))
    old_line = "%s %s" % (old_kid, b64e(old_secret))

    srv.stop("server (to add a key)")
    write_key_file(w.data, [new_line, old_line])
    if not srv.start("server with a new key on top"):
        return
    w.base = srv.base
    r = call(w.base, "GET", "/api/v1/me", old_access)
    R.check("an access token signed with the old key still works -> 200", r.status == 200,
            r.describe())
    r = call(w.base, "GET", "/play/%s/master.m3u8" % old_play)
    R.check("a playback URL signed with the old key still plays -> 200", r.status == 200,
            r.describe())
    new_access = log_in(w, "owner")
    header = jwt_parts(new_access)[0] if new_access else {}
    R.check("a new login is signed with the new key (kid rotated-2)",
            header.get("kid") == "rotated-2", str(header))
    j = jbody(call(w.base, "GET", "/api/v1/media/%s/playback" % w.media["private"], new_access),
              200) or {}
    R.check("new playback URLs are signed with the new key",
            "/play/rotated-2." in str(j.get("hls")), str(j))

    srv.stop("server (to remove the old key)")
    write_key_file(w.data, [new_line])
    if not srv.start("server without the old key"):
        return
    w.base = srv.base
    r = call(w.base, "GET", "/api/v1/me", old_access)
    e2e.check_problem("an access token signed with the removed key", r, 401)
    r = call(w.base, "GET", "/play/%s/master.m3u8" % old_play)
    e2e.check_problem("a playback URL signed with the removed key", r, 403)
    r = call(w.base, "GET", "/api/v1/me", new_access)
    R.check("an access token signed with the new key -> 200", r.status == 200, r.describe())


def check_refresh(w):
    R.section("refresh tokens")
    base = w.base
    t0 = log_in(w, "other")
    r1 = w.refresh["other"]
    r = call(base, "POST", "/api/v1/auth/refresh", body={"refresh_token": r1})
    j = jbody(r, 200)
    ok = (j is not None and isinstance(j.get("access_token"), str) and
          j.get("token_type") == "Bearer" and j.get("expires_in") == 900 and
          str(j.get("refresh_token", "")).startswith("kr_") and j["refresh_token"] != r1 and
          isinstance(j.get("refresh_expires_in"), int) and isinstance(j.get("user"), dict))
    R.check("POST /auth/refresh -> 200, the login's body with a new refresh token", ok and t0,
            r.describe())
    if not ok:
        return
    r2, access2 = j["refresh_token"], j["access_token"]
    r = call(base, "GET", "/api/v1/me", access2)
    R.check("the new access token works", r.status == 200, r.describe())
    r = call(base, "POST", "/api/v1/auth/refresh", body={"refresh_token": r1})
    e2e.check_problem("the used refresh token replayed", r, 401)
    r = call(base, "POST", "/api/v1/auth/refresh", body={"refresh_token": r2})
    e2e.check_problem("its successor after the replay (the family is revoked)", r, 401)
    e2e.check_problem("an unknown refresh token", call(
        base, "POST", "/api/v1/auth/refresh",
        body={"refresh_token": "kr_" + "A" * 43}), 401)

    # Two refreshes with one token at once: one wins, the other is a reuse that ends the
    # family, so the winner's new refresh token is refused too.
    log_in(w, "other")
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(call(
        base, "POST", "/api/v1/auth/refresh", body={"refresh_token": w.refresh["other"]})))
        for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = sorted(r.status for r in answers)
    won = [r for r in answers if r.status == 200]
    after = call(base, "POST", "/api/v1/auth/refresh",
                 body={"refresh_token": (won[0].json() or {}).get("refresh_token")}) if won else None
    R.check("two concurrent refreshes with one token -> one 200 and one 401; the winner's new "
            "refresh token -> 401", got == [200, 401] and after is not None and
            after.status == 401, "%s; then %s" % (got, after.describe() if after else "-"))

    log_in(w, "other")
    r3 = w.refresh["other"]
    r = call(base, "POST", "/api/v1/auth/logout", body={"refresh_token": r3})
    R.check("POST /auth/logout -> 204", r.status == 204, r.describe())
    e2e.check_problem("refresh after logout", call(base, "POST", "/api/v1/auth/refresh",
                                                   body={"refresh_token": r3}), 401)
    r = call(base, "POST", "/api/v1/auth/logout", body={"refresh_token": r3})
    R.check("logout again (idempotent) -> 204", r.status == 204, r.describe())
    r = call(base, "POST", "/api/v1/auth/logout", body={"refresh_token": "kr_" + "B" * 43})
    R.check("logout with an unknown refresh token -> 204", r.status == 204, r.describe())


# --------------------------------------------------------------------------
# The caller's own account: PATCH /api/v1/me, and the cap on API keys

ACCOUNT_LIMIT = 5  # login-limit-account's default: failed attempts per account in 15 minutes


def detail_has(r, status, text):
    j = r.json() if r.status == status else None
    return isinstance(j, dict) and text in str(j.get("detail"))


def check_me_patch(w):
    R.section("PATCH /api/v1/me")
    base = w.base
    token = register_and_login(w, "changer", "Chris Changer")
    if not token:
        return
    old_pw, old_refresh = w.password["changer"], w.refresh["changer"]
    new_pw = "pw-changed-%s" % os.urandom(6).hex()
    wrong = "pw-not-mine-%s" % os.urandom(6).hex()
    PASSWORDS.update((new_pw, wrong, "short7!"))

    r = call(base, "PATCH", "/api/v1/me", token, {"display_name": "Chris C."})
    j = jbody(r, 200)
    check_user("PATCH /api/v1/me {display_name}", j and j.get("user"), w.email["changer"])
    r = call(base, "GET", "/api/v1/me", token)
    R.check("the new display name shows in GET /api/v1/me",
            ((jbody(r, 200) or {}).get("user") or {}).get("display_name") == "Chris C.",
            r.describe())

    e2e.check_problem("anonymous PATCH /api/v1/me", call(
        base, "PATCH", "/api/v1/me", None, {"display_name": "x"}), 401)
    for what, body in (
            ("an unknown field", {"email": "new@example.com"}),
            ("a display_name of 201 bytes", {"display_name": "n" * 201}),
            ("display_name not a string", {"display_name": 7}),
            ("password without current_password", {"password": new_pw}),
            ("current_password without password", {"current_password": old_pw}),
            ("a new password of 7 characters", {"password": "short7!",
                                                "current_password": old_pw})):
        e2e.check_problem("PATCH /api/v1/me with %s" % what,
                          call(base, "PATCH", "/api/v1/me", token, body), 400)

    # A script's key may rename the account but not change its password, even knowing it.
    r = call(base, "POST", "/api/v1/me/api-keys", token, {"name": "changer's script"})
    key = (jbody(r, 201) or {}).get("key")
    if R.check("changer makes an API key -> 201", key, r.describe()):
        r = call(base, "PATCH", "/api/v1/me", key, {"password": new_pw, "current_password": old_pw})
        R.check("password change with an API key (and the right current password) -> 403 "
                "\"... API keys cannot\"", detail_has(r, 403, "API keys cannot"), r.describe())
        r = call(base, "PATCH", "/api/v1/me", key, {"display_name": "Chris by key"})
        R.check("display_name change with an API key -> 200",
                ((jbody(r, 200) or {}).get("user") or {}).get("display_name") == "Chris by key",
                r.describe())

    r = call(base, "PATCH", "/api/v1/me", token, {"password": new_pw, "current_password": wrong})
    R.check("a wrong current_password -> 403 \"the current password is wrong\"",
            detail_has(r, 403, "the current password is wrong"), r.describe())
    r = login(base, w.email["changer"], old_pw)
    R.check("after the refused changes the old password still logs in -> 200", r.status == 200,
            r.describe())

    r = call(base, "PATCH", "/api/v1/me", token, {"password": new_pw, "current_password": old_pw})
    j = jbody(r, 200)
    check_user("PATCH /api/v1/me {password, current_password} -> 200", j and j.get("user"),
               w.email["changer"])
    e2e.check_problem("then login with the old password", login(base, w.email["changer"], old_pw),
                      401)
    r = login(base, w.email["changer"], new_pw)
    R.check("then login with the new password -> 200", r.status == 200, r.describe())
    e2e.check_problem("then the refresh token issued before the change (signed out)", call(
        base, "POST", "/api/v1/auth/refresh", body={"refresh_token": old_refresh}), 401)
    r = call(base, "GET", "/api/v1/me", token)
    R.check("the access token that made the change works until it expires -> 200",
            r.status == 200, r.describe())

    # Wrong current passwords are failed logins of the account: past the limit both /me and
    # login answer 429, even with the right password (a stolen access token cannot be used to
    # guess it). Last: it locks the account for the rest of the run.
    rs = [call(base, "PATCH", "/api/v1/me", token,
               {"password": "pw-guess-%d-%s" % (i, wrong), "current_password": wrong})
          for i in range(ACCOUNT_LIMIT + 1)]
    got = [r.status for r in rs]
    R.check("%d wrong current passwords -> 403 each, then 429 with Retry-After" % ACCOUNT_LIMIT,
            got == [403] * ACCOUNT_LIMIT + [429] and
            (rs[-1].header("Retry-After") or "").isdigit(), str(got))
    r = call(base, "PATCH", "/api/v1/me", token, {"password": wrong, "current_password": new_pw})
    PASSWORDS.update("pw-guess-%d-%s" % (i, wrong) for i in range(ACCOUNT_LIMIT + 1))
    e2e.check_problem("then the right current password on /me too", r, 429)
    e2e.check_problem("then login with the right password (one limit for both)",
                      login(base, w.email["changer"], new_pw), 429)


def check_api_key_cap(w):
    R.section("at most 100 active API keys")
    base = w.base
    token = register_and_login(w, "keyholder", "Kim Keyholder")
    if not token:
        return
    ids, failed = [], None
    for i in range(100):
        r = call(base, "POST", "/api/v1/me/api-keys", token, {"name": "key %d" % i})
        j = jbody(r, 201)
        if not j or not j.get("id"):
            failed = "key %d: %s" % (i, r.describe())
            break
        ids.append(j["id"])
    if not R.check("100 keys -> 201 each", failed is None, failed or ""):
        return
    r = call(base, "POST", "/api/v1/me/api-keys", token, {"name": "one too many"})
    e2e.check_problem("the 101st active key", r, 409)
    R.check("its detail says how many and how to revoke one",
            detail_has(r, 409, "100 active API keys") and
            detail_has(r, 409, "DELETE /api/v1/me/api-keys/"), r.describe())
    r = call(base, "DELETE", "/api/v1/me/api-keys/%s" % ids[0], token)
    R.check("revoke one -> 204", r.status == 204, r.describe())
    r = call(base, "POST", "/api/v1/me/api-keys", token, {"name": "in its place"})
    R.check("then a new key -> 201 (revoked keys do not count)", r.status == 201, r.describe())
    e2e.check_problem("and the next one again", call(
        base, "POST", "/api/v1/me/api-keys", token, {"name": "over again"}), 409)
    r = call(base, "POST", "/api/v1/me/api-keys", w.cred["owner"], {"name": "owner's own"})
    R.check("another account is not affected -> 201", r.status == 201, r.describe())


# --------------------------------------------------------------------------
# Login

def check_login_failures(w):
    R.section("login failures")
    base = w.base
    wrong = "wrong-" + os.urandom(6).hex()
    a = login(base, w.email["owner"], wrong)
    b = login(base, "nobody-%s@example.com" % os.urandom(3).hex(), wrong)
    c = login(base, w.email["disabled"], w.password["disabled"])
    R.check("wrong password -> 401 \"the email or password is wrong\"",
            a.status == 401 and "the email or password is wrong" in
            str((a.json() or {}).get("detail")), a.describe())
    for what, r in (("unknown email", b), ("disabled account with its right password", c)):
        R.check("%s answers exactly as a wrong password (status, WWW-Authenticate, body but "
                "ids)" % what, r.status == a.status and
                r.header("WWW-Authenticate") == a.header("WWW-Authenticate") and
                problem_without_ids(r) == problem_without_ids(a),
                "wrong password: %s\n%s: %s" % (a.describe(), what, r.describe()))
    r = call(base, "POST", "/api/v1/auth/register",
             body={"email": w.email["owner"].upper(), "password": "another-long-pw"})
    PASSWORDS.add("another-long-pw")
    e2e.check_problem("register a taken email (other case)", r, 409)
    e2e.check_problem("register with a 7-character password", call(
        base, "POST", "/api/v1/auth/register",
        body={"email": "short@example.com", "password": "1234567"}), 400)
    PASSWORDS.add("1234567")
    e2e.check_problem("register with no '@' in the email", call(
        base, "POST", "/api/v1/auth/register",
        body={"email": "nobody.example.com", "password": "long-enough-pw"}), 400)
    PASSWORDS.add("long-enough-pw")


ACCESS_TTL = 5  # the shortest access-token-seconds kino serve accepts


def scenario_limits(kino_bin, tmp):
    """A second server: small login limits, registration off, access tokens that live a
    few seconds. Each limit is tried from its own loopback address. Returns the server, still
    running, and a login whose access token check_expiry tries once it has expired (meanwhile
    the main scenario runs)."""
    R.section("login limits, registration off")
    data = os.path.join(tmp, "data-limits")
    pw = {n: "pw-%s-%s" % (n, os.urandom(6).hex()) for n in ("alice", "bob", "eve")}
    for n in pw:
        cli_user_add(kino_bin, data, "%s@example.com" % n, pw[n], "creator")
    srv = Server(kino_bin, data, os.path.join(tmp, "server-limits.log"),
                 ["--workers", "0", "--registration", "off", "--login-limit-account", "3",
                  "--login-limit-address", "6", "--access-token-seconds", str(ACCESS_TTL)])
    if not srv.start("limits server"):
        return srv, None
    base = srv.base
    r = call(base, "POST", "/api/v1/auth/register",
             body={"email": "new@example.com", "password": "pw-new-account"})
    PASSWORDS.add("pw-new-account")
    j = r.json() if r.status == 403 else None
    R.check("register with registration off -> 403 saying to ask an admin (kino user add)",
            isinstance(j, dict) and "kino user add" in str(j.get("detail")), r.describe())

    def attempts(source, seq):
        out = []
        for email, password in seq:
            r = login(base, email, password, source)
            out.append(r)
        return out

    def statuses(rs):
        return [r.status for r in rs]

    def retry_after_ok(r):
        v = r.header("Retry-After") or ""
        return r.status == 429 and v.isdigit() and int(v) >= 1

    # Per account: 3 failures, then 429 even with the right password.
    a = "alice@example.com"
    rs = attempts("127.0.0.2",
                  [(a, "wrong-1-alice")] * 3 + [(a, "wrong-2-alice"), (a, pw["alice"])])
    R.check("per account: 3 wrong passwords -> 401, then 429 with Retry-After, also for the "
            "right password", statuses(rs) == [401, 401, 401, 429, 429] and
            all(retry_after_ok(r) for r in rs[3:]),
            "; ".join("%s Retry-After=%r" % (r.status, r.header("Retry-After")) for r in rs))
    rs = attempts("127.0.0.3", [(a, pw["alice"])])
    R.check("per account: from another address too -> 429", statuses(rs) == [429],
            rs[0].describe())
    # The account limit holds for an email nobody has.
    u = "nobody@example.com"
    rs = attempts("127.0.0.4", [(u, "wrong-nobody")] * 4)
    R.check("per account, unknown email: 401 x3 then 429 with Retry-After",
            statuses(rs) == [401, 401, 401, 429] and retry_after_ok(rs[3]),
            str(statuses(rs)))
    # A good login clears the account's failures.
    b = "bob@example.com"
    rs = attempts("127.0.0.5",
                  [(b, "wrong-bob")] * 2 + [(b, pw["bob"])] + [(b, "wrong-bob")] * 3)
    R.check("per account: 2 failures, a good login, 3 failures -> 401 401 200 401 401 401",
            statuses(rs) == [401, 401, 200, 401, 401, 401], str(statuses(rs)))
    rs = attempts("127.0.0.8", [(b, pw["bob"])])
    R.check("per account: then the limit is reached again -> 429", statuses(rs) == [429],
            rs[0].describe())
    # Per address: 6 attempts a minute, whatever the accounts.
    rs = attempts("127.0.0.6", [("who%d@example.com" % i, "wrong-who") for i in range(7)])
    R.check("per address: 6 attempts on 6 emails -> 401, the 7th -> 429 with Retry-After",
            statuses(rs) == [401] * 6 + [429] and retry_after_ok(rs[6]), str(statuses(rs)))
    e = "eve@example.com"
    rs = attempts("127.0.0.7", [(e, pw["eve"])])
    R.check("another address still logs in -> 200", statuses(rs) == [200], rs[0].describe())

    j = jbody(rs[0], 200) or {}
    R.check("with access-token-seconds %d the login says expires_in %d" % (
        ACCESS_TTL, ACCESS_TTL), j.get("expires_in") == ACCESS_TTL, rs[0].describe())
    claims = jwt_parts(j["access_token"])[1] if j.get("access_token") else {}
    R.check("... and its access token's exp - iat is %d" % ACCESS_TTL,
            claims.get("exp", 0) - claims.get("iat", 0) == ACCESS_TTL, str(claims))
    r = call(base, "GET", "/api/v1/me", j.get("access_token"))
    R.check("the fresh access token -> GET /api/v1/me 200", r.status == 200, r.describe())
    if r.status != 200:
        return srv, None
    return srv, (time.monotonic(), j.get("access_token"), j.get("refresh_token"))


def check_expiry(srv, login):
    """The access token from scenario_limits, once its life is over."""
    R.section("an access token that expired")
    t_login, token, refresh = login
    wait = t_login + ACCESS_TTL + 2 - time.monotonic()
    if wait > 0:
        R.note("waiting %.0f s for the access token to expire" % wait)
        time.sleep(wait)
    r = call(srv.base, "GET", "/api/v1/me", token)
    e2e.check_problem("the expired access token -> GET /api/v1/me", r, 401)
    r = call(srv.base, "POST", "/api/v1/auth/refresh", body={"refresh_token": refresh})
    j = jbody(r, 200) or {}
    r2 = call(srv.base, "GET", "/api/v1/me", j.get("access_token"))
    R.check("after expiry, its refresh token gives an access token that works", r2.status == 200,
            "%s\n%s" % (r.describe(), r2.describe()))


# --------------------------------------------------------------------------
# Passwords never appear

def check_no_passwords(log_paths):
    R.section("passwords never appear")
    logs = b""
    for p in log_paths:
        try:
            with open(p, "rb") as f:
                logs += f.read()
        except OSError:
            pass
    R.check("the servers logged something to search (%d bytes)" % len(logs), len(logs) > 0, "")
    leaks = []
    for pw in sorted(PASSWORDS):
        b = pw.encode()
        if b in logs:
            leaks.append("%r in a server log" % pw)
        n = sum(1 for body in BODIES if b in body)
        if n:
            leaks.append("%r in %d response bodies" % (pw, n))
    R.check("none of the %d passwords used is in the server logs or in any of the %d response "
            "bodies" % (len(PASSWORDS), len(BODIES)), not leaks, "\n".join(leaks))
    hashes = [b for b in BODIES if b"$argon2" in b]
    R.check("no response body holds a password hash ($argon2)", not hashes,
            e2e.short(hashes[0]) if hashes else "")


# --------------------------------------------------------------------------

def scenario_main(kino_bin, tmp, clip):
    data = os.path.join(tmp, "data")
    w = World()
    R.section("accounts")
    admin_pw = "pw-admin-%s" % os.urandom(6).hex()
    w.email["admin"], w.password["admin"] = "admin@example.com", admin_pw
    w.user["admin"] = {"id": cli_user_add(kino_bin, data, "admin@example.com", admin_pw, "admin")}
    # A high address limit: this scenario logs in a dozen times from 127.0.0.1 (the limits have
    # their own server).
    srv = Server(kino_bin, data, os.path.join(tmp, "server.log"),
                 ["--workers", "1", "--login-limit-address", "1000"])
    try:
        if not srv.start("server"):
            return
        w.base, w.data = srv.base, data
        if not setup_callers(w) or not setup_media(w, clip):
            return
        run_matrix(w)
        check_details(w)
        check_paging(w)
        check_access_tokens(w)
        check_playback_tokens(w)
        check_signed_with_the_key(w)
        check_refresh(w)
        check_login_failures(w)
        check_me_patch(w)
        check_api_key_cap(w)
        check_key_rotation(w, srv)  # last: it restarts the server
    finally:
        srv.stop("server")


def scenario_registration_role(kino_bin, tmp):
    """A third server: newcomers are viewers, and the signing keys come from configuration."""
    R.section("registration-role viewer, signing keys from configuration")
    data = os.path.join(tmp, "data-viewers")
    keys = "cfg-new:%s,cfg-old:%s" % (b64e(os.urandom(32)), b64e(os.urandom(32)))
    srv = Server(kino_bin, data, os.path.join(tmp, "server-viewers.log"),
                 ["--workers", "0", "--registration-role", "viewer", "--auth-keys", keys])
    try:
        if not srv.start("viewers server"):
            return
        password = "pw-newcomer-%s" % os.urandom(6).hex()
        PASSWORDS.add(password)
        r = call(srv.base, "POST", "/api/v1/auth/register",
                 body={"email": "newcomer@example.com", "password": password})
        j = jbody(r, 201)
        check_user("register with registration-role viewer", j and j.get("user"),
                   "newcomer@example.com", "viewer")
        token = (jbody(login(srv.base, "newcomer@example.com", password), 200) or {}).get(
            "access_token")
        r = upload(srv.base, token, "notvideo.mp4", NOT_MEDIA, "by a viewer")
        R.check("the new viewer's upload -> 403", token and r.status == 403, r.describe())
        R.check("with --auth-keys the first configured key signs (kid cfg-new)",
                token and jwt_parts(token)[0].get("kid") == "cfg-new",
                str(token and jwt_parts(token)[0]))
        R.check("with --auth-keys no auth.key file is made in the data directory",
                not os.path.exists(os.path.join(data, "auth.key")), "")
    finally:
        srv.stop("viewers server")


def run_all(tmp):
    kino_bin = e2e.prerequisites(tools=("ffmpeg",))
    if not kino_bin:
        return
    clip = os.path.join(tmp, "clip.mp4")
    if not make_clip(clip):
        return
    limits, login = scenario_limits(kino_bin, tmp)
    try:
        scenario_main(kino_bin, tmp, clip)
        scenario_registration_role(kino_bin, tmp)
        if login:
            check_expiry(limits, login)
    finally:
        limits.stop("limits server")
    check_no_passwords([os.path.join(tmp, name) for name in
                        ("server.log", "server-limits.log", "server-viewers.log")])


def main():
    return e2e.run_in_tmp("kino-e2e-auth-", run_all, log_lines=60)


if __name__ == "__main__":
    sys.exit(main())
