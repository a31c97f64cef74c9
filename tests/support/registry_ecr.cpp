#include "tests/support/registry_ecr.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "tests/support/registry.hpp"

namespace ecsa::test {

namespace {

// argv: dir akid secret session_token password. Writes dir/port when listening.
const char* const kServer = R"PY(
import base64, datetime, http.server, json, os, ssl, sys, time
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

d, akid, secret, token, password = sys.argv[1:6]
log = open(os.path.join(d, "calls.log"), "a", buffering=1)

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def deny(self, why, typ="InvalidSignatureException"):
        log.write("denied " + why + "\n")
        self.reply(403 if typ != "UnrecognizedClientException" else 400,
                   {"__type": typ, "message": why})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("X-Amz-Target") != \
                "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken":
            return self.deny("bad target " + str(self.headers.get("X-Amz-Target")),
                             "UnknownOperationException")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.deny("no SigV4 Authorization header", "MissingAuthenticationTokenException")
        parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        cred = parts["Credential"].split("/")
        if cred[0] != akid:
            return self.deny("unknown access key", "UnrecognizedClientException")
        region, service = cred[2], cred[3]
        if service != "ecr":
            return self.deny("signing service is " + service + ", not ecr")
        signed = parts["SignedHeaders"].split(";")
        for must in ("host", "x-amz-date", "x-amz-target"):
            if must not in signed:
                return self.deny(must + " is not signed")
        if token:
            if self.headers.get("X-Amz-Security-Token") != token:
                return self.deny("missing or wrong session token", "UnrecognizedClientException")
            if "x-amz-security-token" not in signed:
                return self.deny("x-amz-security-token is not signed")
        # Recompute the signature with botocore over exactly the headers the client signed.
        headers = {h: self.headers.get(h) for h in signed}
        req = AWSRequest(method="POST", url="https://" + self.headers.get("Host") + self.path,
                         data=body, headers=headers)
        req.context["timestamp"] = self.headers.get("X-Amz-Date")
        signer = SigV4Auth(Credentials(akid, secret, token or None), "ecr", region)
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        if expected != parts["Signature"]:
            return self.deny("signature mismatch")
        ids = json.loads(body or b"{}").get("registryIds", [])
        log.write("ok %s %s\n" % (region, ",".join(ids)))
        acct = ids[0] if ids else "123456789012"
        self.reply(200, {"authorizationData": [{
            "authorizationToken": base64.b64encode(("AWS:" + password).encode()).decode(),
            "expiresAt": time.time() + 12 * 3600,
            "proxyEndpoint": "https://%s.dkr.ecr.%s.amazonaws.com" % (acct, region)}]})

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
srv.serve_forever()
)PY";

}  // namespace

bool botocore_available() {
  return std::system("python3 -c 'import botocore.auth' >/dev/null 2>&1") == 0;
}

EcrTokenEndpoint::EcrTokenEndpoint(EcrEndpointOptions o) {
  char tmpl[] = "/tmp/ecsa-test-ecr-XXXXXX";
  if (!mkdtemp(tmpl)) throw_errno("mkdtemp /tmp/ecsa-test-ecr-XXXXXX");
  dir_ = tmpl;
  try {
    make_test_certs(dir_);
    fs::write_file_atomic(dir_ + "/server.py", kServer);
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = fork();
    if (pid_ < 0) throw_errno("fork");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::string log = dir_ + "/server.log";
      if (!freopen(log.c_str(), "w", stderr)) _exit(127);
      execlp("python3", "python3", (dir_ + "/server.py").c_str(), dir_.c_str(),
             o.access_key_id.c_str(), o.secret.c_str(), o.session_token.c_str(),
             o.password.c_str(), nullptr);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!fs::exists(dir_ + "/port")) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_ || std::chrono::steady_clock::now() > deadline) {
        pid_ = -1;
        throw Error("ECR test endpoint did not start: " +
                    fs::read_file_if_exists(dir_ + "/server.log").value_or(""));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    port_ = std::stoi(fs::read_file(dir_ + "/port"));
  } catch (...) {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
    throw;
  }
}

EcrTokenEndpoint::~EcrTokenEndpoint() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  fs::remove_all(dir_);
}

std::vector<std::string> EcrTokenEndpoint::calls() const {
  std::vector<std::string> out;
  std::string text = fs::read_file_if_exists(dir_ + "/calls.log").value_or("");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

}  // namespace ecsa::test
