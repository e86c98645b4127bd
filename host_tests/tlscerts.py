"""Throwaway certificates for the TLS tests, made with the ``openssl`` command.

    certs = tlscerts.make(tmp_path)   # dict of paths (PEM and DER)

A CA ("tcpip test CA"), a server certificate for ``files.test`` and
192.0.2.1 signed by it, and a second CA that signed nothing (to show a
certificate that does not verify).  EC P-256 keys: quick to make, and what
mbedTLS on a board handles fastest.
"""
import os
import shutil
import subprocess


def available():
    return shutil.which("openssl") is not None


def _run(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, capture_output=True, timeout=60)


def make(folder, host="files.test", ip="192.0.2.1"):
    d = str(folder)
    os.makedirs(d, exist_ok=True)
    for name in ("ca", "other_ca"):
        _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj",
              "/CN=tcpip test %s" % name, "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    _run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=%s" % host], d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:%s,IP:%s\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n" % (host, ip))
    _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf"], d)
    for name in ("ca", "other_ca", "server"):
        _run(["x509", "-in", name + ".pem", "-outform", "DER", "-out", name + ".der"], d)
    _run(["pkey", "-in", "server.key", "-outform", "DER", "-out", "server.key.der"], d)
    return {k: os.path.join(d, v) for k, v in (
        ("ca", "ca.pem"), ("ca_der", "ca.der"), ("other_ca", "other_ca.pem"),
        ("other_ca_der", "other_ca.der"), ("cert", "server.pem"), ("cert_der", "server.der"),
        ("key", "server.key"), ("key_der", "server.key.der"))}
