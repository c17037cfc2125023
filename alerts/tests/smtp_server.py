#!/usr/bin/env python3
"""A real SMTP server for the e-mail channel tests (aiosmtpd, from PyPI; not part of
the project): STARTTLS required before login, login required before mail, a
certificate for 127.0.0.1 from a private CA made with openssl, and every accepted message
appended as one JSON line to an output file.

    smtp_server.py PORT WORKDIR USER PASSWORD [REJECT_FIRST]

Prints "ready" once it accepts connections. The first REJECT_FIRST messages are
refused with 451 (try again later), as a busy mail server does.
"""
import json
import warnings
import ssl
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    warnings.filterwarnings("ignore", message="Session.login_data")
    port, workdir, user, password = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    reject_first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    # A private certificate authority (ca.pem, what the client is told to trust) and a
    # server certificate for 127.0.0.1 signed by it, as a bureau's own mail server has.
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    ca, ca_key, csr, ext = (workdir / n for n in ("ca.pem", "ca.key", "server.csr", "ext.cnf"))
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                   "extendedKeyUsage=serverAuth\n")
    for command in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=yuqing test CA", "-keyout", ca_key, "-out", ca],
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "1", "-extfile", ext, "-out", cert],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    out = workdir / "received.jsonl"
    state = {"refused": 0}

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and \
            auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            if state["refused"] < reject_first:
                state["refused"] += 1
                return "451 4.3.0 try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            with open(out, "a", encoding="utf-8") as f:
                f.write(json.dumps({
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "login": session.authenticated,
                    "tls": session.ssl is not None,
                    "subject": str(message["subject"]),
                    "message_id": str(message["message-id"]),
                    "body": message.get_content(),
                }, ensure_ascii=False) + "\n")
            return "250 OK"

    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port,
        tls_context=context, require_starttls=True,
        authenticator=authenticate, auth_required=True, auth_require_tls=True,
        server_hostname="127.0.0.1")
    # The controller's own readiness probe speaks plain SMTP, which this server refuses
    # before STARTTLS; start it without waiting on that probe.
    controller.ready_timeout = 5
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
