#!/usr/bin/python3
"""Builds the pull benchmark's image, an OCI layout, from files of this machine's /usr.

    make-pull-image.py [--single] OUT_DIR

OUT_DIR (tag "latest"): one linux manifest for the build host's platform, five tar+gzip
layers of realistic content, from a large layer of many mid-sized files to a tiny one:

  1. usr/lib/python3.11         (~50 MB: .py sources, compiled modules, a few binaries)
  2. usr/bin                    (~16 MB: ELF executables, symlinks, hard links; the
                                 largest files are skipped to cap the layer)
  3. usr/share/perl/5.36* and usr/share/zoneinfo (~20 MB: thousands of small files)
  4. usr/include/linux          (~5 MB: small headers)
  5. etc/bench-release and a whiteout of a file of layer 3 (a few hundred bytes)

--single: the same files in one ~100 MB layer (for peak RSS with a big layer).

About 100 MB uncompressed. Owners are normalised to root, modes, mtimes, symlinks and hard
links are kept. Gzip level 6 (what docker and skopeo write). The uncompressed size of
every layer is written to OUT_DIR/sizes.json for the benchmark's ratios. The layout is
assembled beside OUT_DIR and renamed into place.
"""
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import stat
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
BIN_LAYER_CAP = 16 << 20      # bytes of /usr/bin content in layer 2
BIN_FILE_CAP = 4 << 20        # skip larger executables (a few huge ones would dominate)


def host_platform():
    m = platform.machine()
    return {"x86_64": ("amd64", ""), "aarch64": ("arm64", "v8"),
            "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6")}.get(m, (m, ""))


def normalise(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti


def walk(top):
    """Paths below /top (and top itself), parents first, sorted: a deterministic order."""
    out = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        out.append(root)
        out.extend(os.path.join(root, f) for f in sorted(files))
    return out


def parents(path):
    """The directories above a path below /, outermost first: usr, usr/lib, ..."""
    parts = path.strip("/").split("/")[:-1]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


class Layer:
    def __init__(self):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.added = set()

    def add(self, path):
        for d in parents(path):
            if d not in self.added:
                self.added.add(d)
                self.tar.add(d, arcname=d.lstrip("/"), recursive=False, filter=normalise)
        if path not in self.added:
            self.added.add(path)
            self.tar.add(path, arcname=path.lstrip("/"), recursive=False, filter=normalise)

    def add_tree(self, top, keep=lambda p, st: True):
        # The real path: a symlinked top (/usr/share/perl/5.36) would shadow its files.
        for p in walk(os.path.realpath(top)):
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
                if keep(p, st):
                    self.add(p)

    def file(self, name, data, mode=0o644):
        ti = normalise(tarfile.TarInfo(name))
        ti.mode, ti.mtime, ti.size = mode, 1700000000, len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def bytes(self):
        self.tar.close()
        return self.buf.getvalue()


def bin_filter():
    total = [0]

    def keep(p, st):
        if stat.S_ISREG(st.st_mode):
            if st.st_size > BIN_FILE_CAP or total[0] + st.st_size > BIN_LAYER_CAP:
                return False
            total[0] += st.st_size
        return True
    return keep


def main():
    args = sys.argv[1:]
    single = args[:1] == ["--single"]
    if single:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: make-pull-image.py [--single] OUT_DIR")
    out = os.path.abspath(args[0])
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "blobs", "sha256"))

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(tmp, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return "sha256:" + d

    trees = [("/usr/lib/python3.11", None), ("/usr/bin", bin_filter()),
             ("/usr/share/perl/5.36", None), ("/usr/share/zoneinfo", None),
             ("/usr/include/linux", None)]
    layers = []
    for i, (top, keep) in enumerate(trees):
        # Layers 1, 2, 3 (perl and zoneinfo together), 4; or all in one.
        if not layers or (not single and i != 3):
            layers.append(Layer())
        if keep:
            layers[-1].add_tree(top, keep)
        else:
            layers[-1].add_tree(top)
    last = layers[-1] if single else Layer()
    etc = normalise(tarfile.TarInfo("etc"))
    etc.type, etc.mode, etc.mtime = tarfile.DIRTYPE, 0o755, 1700000000
    last.tar.addfile(etc)
    last.file("etc/bench-release", b"ecsa pull benchmark image\n")
    if not single:
        wh = normalise(tarfile.TarInfo("usr/share/zoneinfo/.wh.UTC"))
        wh.mtime = 1700000000
        last.tar.addfile(wh, io.BytesIO(b""))
        layers.append(last)

    descs, diff_ids, sizes = [], [], []
    for layer in layers:
        raw = layer.bytes()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, compresslevel=6, mtime=0)
        descs.append({"mediaType": LAYER_GZIP, "digest": blob(gz), "size": len(gz)})
        sizes.append({"uncompressed": len(raw), "compressed": len(gz)})

    arch, variant = host_platform()
    config = {
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/usr/bin/python3"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "make-pull-image.py layer %d" % (i + 1)}
                    for i in range(len(layers))],
    }
    if variant:
        config["variant"] = variant
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": blob(cfg), "size": len(cfg)},
        "layers": descs,
    }, sort_keys=True).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": blob(manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(tmp, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(tmp, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(tmp, "sizes.json"), "w") as f:
        json.dump({"layers": sizes,
                   "uncompressed": sum(s["uncompressed"] for s in sizes),
                   "compressed": sum(s["compressed"] for s in sizes)}, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)


if __name__ == "__main__":
    main()
