"""TLS fixtures for the tests and the bench: throwaway certificates made with
the ``openssl`` command, and an nginx configuration serving a folder over
HTTP and HTTPS (Debian ``nginx``, started by the caller inside a namespace).

    certs = tlsfixtures.make(tmp_path)          # dict of paths (PEM and DER)
    conf, www = tlsfixtures.nginx_conf(folder, certs)
    # ip netns exec NS nginx -c conf -p folder -e folder/error.log

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


def nginx_conf(d, certs, http_port=0):
    """nginx.conf in folder d serving d/www on 192.0.2.1:443 (TLS with certs)
    and, with http_port, in plain HTTP there too; returns (conf path, www)."""
    www = os.path.join(d, "www")
    os.makedirs(www, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 64; }
http {
  access_log %(d)s/access.log;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  default_type application/octet-stream;
  server {
    listen 192.0.2.1:443 ssl;%(http)s
    server_name files.test;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(key)s;
    root %(www)s;
  }
}
""" % {"d": d, "cert": certs["cert"], "key": certs["key"], "www": www,
       "http": ("\n    listen 192.0.2.1:%d;" % http_port) if http_port else ""})
    return conf, www
