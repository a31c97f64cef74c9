#include "ecs/image_config_merge.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ecsa::ecs {

namespace {
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string env_name(const std::string& kv) { return kv.substr(0, kv.find('=')); }

bool has_env(const std::vector<std::string>& env, const std::string& name) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& kv) { return env_name(kv) == name; });
}
}  // namespace

ProcessPlan merge_image_config(const ContainerPlan& c, const ImageConfig& image,
                               std::string_view passwd, std::string_view group) {
  ProcessPlan p;
  std::vector<std::string> entrypoint = c.entry_point.value_or(std::vector<std::string>{});
  std::vector<std::string> cmd = c.command.value_or(std::vector<std::string>{});
  if (entrypoint.empty()) {
    if (cmd.empty() && image.cmd) cmd = *image.cmd;
    if (!c.entry_point && image.entrypoint) entrypoint = *image.entrypoint;
  }
  p.args = entrypoint;
  p.args.insert(p.args.end(), cmd.begin(), cmd.end());
  if (p.args.empty()) throw Error(c.name + ": no command specified (neither the task definition nor the image has one)");

  for (const auto& [k, v] : c.env) p.env.push_back(k + "=" + v);
  for (const auto& kv : image.env)
    if (!has_env(p.env, env_name(kv))) p.env.push_back(kv);
  if (!has_env(p.env, "PATH")) p.env.insert(p.env.begin(), std::string("PATH=") + kDefaultPath);

  p.cwd = !c.working_dir.empty() ? c.working_dir : !image.working_dir.empty() ? image.working_dir : "/";
  p.user = !c.user.empty() ? c.user : image.user;
  try {
    p.ids = resolve_user(p.user, passwd, group);
  } catch (const std::exception&) {
    rethrow_with_context(c.name);
  }
  if (!has_env(p.env, "HOME")) p.env.push_back("HOME=" + p.ids.home);
  p.stop_signal = image.stop_signal.empty() ? "SIGTERM" : image.stop_signal;

  for (const auto& v : image.volumes) {
    bool covered = std::any_of(c.mounts.begin(), c.mounts.end(), [&](const Mount& m) { return m.destination == v; }) ||
                   std::any_of(c.tmpfs.begin(), c.tmpfs.end(), [&](const TmpfsMount& t) { return t.container_path == v; });
    if (!covered) p.anonymous_volumes.push_back(v);
  }
  return p;
}

}  // namespace ecsa::ecs
