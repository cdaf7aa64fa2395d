"""A TLS front for the lab's moto, on the lab network's gateway address.

The lab's moto listens on 127.0.0.1 of the machine, plain HTTP. Lab containers reach the
machine only through their network's gateway (the host side of the podman bridge, inside
198.18.0.0/15), and pgBackRest's S3 driver speaks only TLS. This relays TLS on
<gateway>:<port> to moto, ending every connection with a proper close_notify (moto's own
`-s` server drops the socket without one, which OpenSSL 3 in pgBackRest reports as
"unexpected eof while reading").

Run as a process of its own:  python -m ... s3tls LISTEN_HOST LISTEN_PORT CERT KEY UPSTREAM_PORT
make_ca() makes the certificate it serves (the backup lab test's and the backup roles'
molecule scenarios').
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
import sys
from pathlib import Path


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


def make_ca(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name lab-s3, its own CA (cryptography comes with
    moto): directory/lab-s3.pem and directory/lab-s3.key (0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lab-s3")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("lab-s3")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "lab-s3.pem", directory / "lab-s3.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def main(argv: list[str]) -> None:
    host, port, cert, key, upstream = argv
    asyncio.run(_serve(host, int(port), cert, key, int(upstream)))


if __name__ == "__main__":
    main(sys.argv[1:])
