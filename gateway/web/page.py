"""The two HTML documents the gateway serves: the login form and the site page's frame.

Both are rendered here with every value escaped; the live content is filled in by the one
script in static/app.js from the event stream. No inline script or style, so the page's
Content-Security-Policy can forbid them outright.
"""

from __future__ import annotations

from html import escape
from string import Template

from gateway import __version__

__all__ = ["SECURITY_HEADERS", "login_page", "site_page"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

_HEAD = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="stylesheet" href="static/app.css">
<link rel="icon" href="data:,">
$extra</head>
""")

_LOGIN = Template("""<body class="login">
<main class="card login-card">
<h1>PileBridge <span class="site">$site</span></h1>
<form method="post" action="login" autocomplete="on">
<label>User <input name="user" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Log in</button>
</form>
$message</main>
</body>
</html>
""")

_SITE = Template("""<body>
<header class="bar">
<h1>PileBridge <span class="site">$site</span></h1>
<div id="link" class="pill">connecting…</div>
<div class="who"><span id="user">$user</span> <span class="role">$role</span>$logout</div>
</header>
<main>
<section id="gateway" class="card wide"><h2>Gateway</h2><dl id="gateway-facts" class="facts"></dl><ul id="problems" class="problems"></ul></section>
<section id="grid" class="card wide"><h2>Grid</h2><div id="grid-body"><p class="muted">no site telemetry yet</p></div></section>
<section id="panel" class="card wide" $panel_hidden><h2>Commissioning</h2>
<form id="command-form">
<div class="row">
<label>Device <select id="cmd-device" name="device"></select></label>
<label>Command <select id="cmd-name" name="command"></select></label>
</div>
<div id="cmd-fields" class="row"></div>
<button type="submit" id="cmd-send">Send</button>
</form>
<div id="cmd-result" class="result" aria-live="polite"></div>
</section>
<section class="group"><h2>Chargers</h2><div id="chargers" class="cards"><p class="muted">no chargers configured</p></div></section>
<section class="group"><h2>Batteries</h2><div id="storage" class="cards"><p class="muted">no batteries configured</p></div></section>
<section class="group" id="meters-group"><h2>Meters</h2><div id="meters" class="cards"><p class="muted">no meters configured</p></div></section>
<section id="events" class="card wide"><h2>Recent events and command results</h2><ol id="event-list" class="events"></ol></section>
</main>
<footer class="muted">PileBridge $version · values as published on MQTT · sign: + into the device</footer>
<script src="static/app.js"></script>
</body>
</html>
""")


def login_page(site: str, message: str | None = None) -> str:
    note = f'<p class="error" role="alert">{escape(message)}</p>\n' if message else ""
    head = _HEAD.substitute(title=escape(f"PileBridge {site}: log in"), extra="")
    return head + _LOGIN.substitute(site=escape(site), message=note)


def site_page(site: str, user: str, role: str, csrf: str, *, can_logout: bool) -> str:
    meta = (
        f'<meta name="csrf-token" content="{escape(csrf)}">\n'
        f'<meta name="role" content="{escape(role)}">\n'
    )
    logout = (
        '<form method="post" action="logout" class="logout">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit">Log out</button></form>'
        if can_logout
        else ""
    )
    head = _HEAD.substitute(title=escape(f"PileBridge {site}"), extra=meta)
    return head + _SITE.substitute(
        site=escape(site),
        user=escape(user),
        role=escape(role),
        logout=logout,
        panel_hidden="" if role == "operator" else "hidden",
        version=escape(__version__),
    )
