"""A TLS front for the lab's moto, on the lab network's gateway address.

The lab's moto listens on 127.0.0.1 of the machine, plain HTTP. Lab containers reach the
machine only through their network's gateway (the host side of the podman bridge, inside
198.18.0.0/15), and pgBackRest's S3 driver speaks only TLS. This relays TLS on
<gateway>:<port> to moto, ending every connection with a proper close_notify (moto's own
`-s` server drops the socket without one, which OpenSSL 3 in pgBackRest reports as
"unexpected eof while reading").

Run as a process of its own:  python -m ... s3tls LISTEN_HOST LISTEN_PORT CERT KEY UPSTREAM_PORT
"""

from __future__ import annotations

import asyncio
import ssl
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        try:
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def _serve(host: str, port: int, cert: str, key: str, upstream: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, up_w), _pipe(up_r, client_w))

    server = await asyncio.start_server(handle, host, port, ssl=context)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    host, port, cert, key, upstream = argv
    asyncio.run(_serve(host, int(port), cert, key, int(upstream)))


if __name__ == "__main__":
    main(sys.argv[1:])
