"""The SMTP side of tend-probe's mail tests: aiosmtpd on loopback, handing each accepted message
to dovecot-lda, so it lands in the test's own dovecot mailbox as a real MTA would deliver it.

Prints "ready" once it listens and stops when its standard input closes, so it cannot outlive
the test that started it.
"""

import argparse
import asyncio
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Deliver:
    def __init__(self, lda, config, discard):
        self.lda = lda
        self.config = config
        self.discard = discard

    async def handle_DATA(self, server, session, envelope):
        if self.discard:
            # Accepted and lost: the probe must notice that nothing arrives.
            return "250 2.0.0 OK (discarded by the test)"
        for rcpt in envelope.rcpt_tos:
            proc = await asyncio.create_subprocess_exec(
                self.lda, "-c", self.config, "-d", rcpt, "-f", envelope.mail_from,
                stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate(envelope.original_content)
            if proc.returncode != 0:
                why = err.decode(errors="replace").strip().replace("\n", " ")
                return f"451 4.3.0 delivery to {rcpt} failed: {why}"
        return "250 2.0.0 OK delivered"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lda", required=True)
    parser.add_argument("--dovecot-config", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--discard", action="store_true")
    args = parser.parse_args()

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    smtp = {}
    if args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode()
            password = auth_data.password.decode()
            # handled=False: aiosmtpd answers 535 itself; True would leave the client waiting.
            return AuthResult(success=login == args.user and password == args.password, handled=False)

        smtp.update(authenticator=authenticator, auth_require_tls=True)
    handler = Deliver(args.lda, args.dovecot_config, args.discard)
    if args.implicit_tls:
        controller = Controller(handler, hostname="127.0.0.1", port=args.port, ssl_context=context, **smtp)
    else:
        controller = Controller(
            handler, hostname="127.0.0.1", port=args.port,
            tls_context=context, require_starttls=context is not None, **smtp,
        )
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
