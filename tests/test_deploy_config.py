"""The example nginx configuration (config/nginx-geoportal.conf) passes `nginx -t`.

The example names production paths (certificates, cache directory); they are rendered into a
temporary directory with a self-signed certificate made here by openssl.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "config" / "nginx-geoportal.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(tmp_path: Path) -> Path:
    """nginx.conf including the example, its paths moved under `tmp_path`."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=geoportal.example.kg"]
        + ["-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    text = EXAMPLE.read_text("utf-8")
    for production in ("/etc/ssl/geoportal", "/var/cache/nginx"):
        assert production in text
        text = text.replace(production, str(tmp_path))
    site = tmp_path / "geoportal.conf"
    site.write_text(text, "utf-8")
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {site};\n}}\n",
        "utf-8",
    )
    return main


def test_example_nginx_config_is_valid(tmp_path: Path) -> None:
    main = render(tmp_path)
    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_example_restricts_metrics_and_sets_forwarded_for() -> None:
    text = EXAMPLE.read_text("utf-8")
    metrics = text[text.index("location = /metrics") :].split("}", 1)[0]
    assert "deny all;" in metrics
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
