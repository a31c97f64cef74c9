#!/usr/bin/python3
"""Builds the OCI image layouts the registry tests push, from local material only.

    make-oci-images.py OUT_DIR [BUSYBOX]

OUT_DIR/busybox   tag "latest": one manifest for the build host's platform, two layers:
                  a busybox-static rootfs (tar+gzip) and a small layer (tar+zstd) that adds
                  /etc/ecsa-fixture and removes /etc/motd with a whiteout.
OUT_DIR/multi     tag "latest": an image index for linux/amd64, linux/arm64/v8 and
                  linux/arm/v7 (each image holds /platform naming it; the host's also the
                  busybox rootfs) plus an attestation manifest with platform unknown/unknown.
Everything is deterministic (fixed mtimes and owners), so digests only change when this
script or busybox changes. The layout is assembled beside OUT_DIR and renamed into place.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

APPLETS = ["sh", "ls", "cat", "echo", "true", "false", "sleep", "id", "env", "test", "mkdir", "hostname", "httpd", "wget", "nc", "ip", "ps", "kill", "grep"]


def host_platform():
    m = platform.machine()
    return {"x86_64": ("amd64", ""), "aarch64": ("arm64", "v8"),
            "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6")}.get(m, (m, ""))


class Tar:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, kind, mode):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime, ti.uid, ti.gid = kind, mode, 1700000000, 0, 0
        ti.uname = ti.gname = "root"
        return ti

    def dir(self, name, mode=0o755):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode))

    def file(self, name, data, mode=0o644):
        ti = self._info(name, tarfile.REGTYPE, mode)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target):
        ti = self._info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"))
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def blob(self, data, media_type, **extra):
        d = digest(data)
        p = os.path.join(self.path, "blobs", "sha256", d.split(":")[1])
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
        desc = {"mediaType": media_type, "digest": d, "size": len(data)}
        desc.update(extra)
        return desc

    def index(self, manifests):
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}, f)


def gzip_bytes(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def zstd_bytes(data):
    return subprocess.run(["zstd", "-q", "-c", "-3", "--no-check"], input=data,
                          stdout=subprocess.PIPE, check=True).stdout


def busybox_layer(busybox):
    t = Tar()
    for d in ["bin", "etc", "tmp", "root"]:
        t.dir(d, 0o1777 if d == "tmp" else 0o755)
    with open(busybox, "rb") as f:
        t.file("bin/busybox", f.read(), 0o755)
    for a in APPLETS:
        t.symlink("bin/" + a, "busybox")
    # root and nobody, as the ECS agent's functional tests expect of their busybox image.
    t.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    t.file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    t.file("etc/motd", b"removed by the second layer\n")
    return t.bytes()


def image(layout, arch, variant, layers, cmd, entrypoint=None, stop_signal=None):
    """layers: list of (uncompressed tar, compression). Returns the manifest descriptor."""
    descs, diff_ids = [], []
    for tar, comp in layers:
        diff_ids.append(digest(tar))
        if comp == "zstd":
            descs.append(layout.blob(zstd_bytes(tar), LAYER_ZSTD))
        else:
            descs.append(layout.blob(gzip_bytes(tar), LAYER_GZIP))
    config = {"created": "2024-01-01T00:00:00Z", "architecture": arch, "os": "linux",
              "config": {"Cmd": cmd, "Env": ["PATH=/bin"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "make-oci-images.py"}]}
    if entrypoint:
        config["config"]["Entrypoint"] = entrypoint
    if stop_signal:
        config["config"]["StopSignal"] = stop_signal
    if variant:
        config["variant"] = variant
    cdesc = layout.blob(json.dumps(config, sort_keys=True).encode(), OCI_CONFIG)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cdesc, "layers": descs}
    plat = {"architecture": arch, "os": "linux"}
    if variant:
        plat["variant"] = variant
    return layout.blob(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST,
                       platform=plat)


def marker_layer(text):
    t = Tar()
    t.file("platform", (text + "\n").encode())
    return t.bytes()


def main():
    out = sys.argv[1]
    busybox = sys.argv[2] if len(sys.argv) > 2 else "/bin/busybox"
    stress = sys.argv[3] if len(sys.argv) > 3 else ""
    tmp = out + ".tmp.%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        harch, hvariant = host_platform()
        base = busybox_layer(busybox)
        extra = Tar()
        extra.dir("etc")
        extra.file("etc/ecsa-fixture", b"second layer\n")
        extra.file("etc/.wh.motd", b"")
        extra_tar = extra.bytes()

        bb = Layout(os.path.join(tmp, "busybox"))
        m = image(bb, harch, hvariant, [(base, "gzip"), (extra_tar, "zstd")], ["/bin/sh"])
        m["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
        bb.index([m])

        # amazon/amazon-ecs-stress:make of the ECS agent's tests: a static program as
        # entrypoint (rootfs-fixtures/helpers/ecs-stress.c) on top of busybox.
        if stress:
            t = Tar()
            with open(stress, "rb") as f:
                t.file("ecs-stress", f.read(), 0o755)
            st = Layout(os.path.join(tmp, "ecs-stress"))
            # StopSignal: the task tests check that a stop sends it first.
            m = image(st, harch, hvariant, [(base, "gzip"), (t.bytes(), "gzip")], [], ["/ecs-stress"],
                      "SIGUSR1")
            m["annotations"] = {"org.opencontainers.image.ref.name": "make"}
            st.index([m])

        multi = Layout(os.path.join(tmp, "multi"))
        entries = []
        for arch, variant in [("amd64", ""), ("arm64", "v8"), ("arm", "v7")]:
            name = "linux/" + arch + ("/" + variant if variant else "")
            layers = [(marker_layer(name), "gzip")]
            if (arch, variant) == (harch, hvariant):
                layers.insert(0, (base, "gzip"))
            entries.append(image(multi, arch, variant, layers, ["/bin/sh"]))
        # An attestation manifest as BuildKit writes them: never a platform match.
        att = image(multi, "unknown", "", [(marker_layer("attestation"), "gzip")], [])
        att["platform"] = {"architecture": "unknown", "os": "unknown"}
        att["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                              "vnd.docker.reference.digest": entries[0]["digest"]}
        entries.append(att)
        idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries},
                         sort_keys=True).encode()
        idesc = multi.blob(idx, OCI_INDEX,
                           annotations={"org.opencontainers.image.ref.name": "latest"})
        multi.index([idesc])

        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
