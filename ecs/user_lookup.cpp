#include "ecs/user_lookup.hpp"

#include <algorithm>
#include <optional>

#include "common/error.hpp"

namespace ecsa::ecs {

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::optional<uint32_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 10 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  unsigned long long v = std::stoull(s);
  if (v > 0x7fffffffULL) return std::nullopt;
  return static_cast<uint32_t>(v);
}

struct Entry {
  std::string name;
  uint32_t id = 0;
  uint32_t gid = 0;  // passwd: primary group
  std::string home;
  std::vector<std::string> members;  // group: member user names
};

// name:x:uid:gid:gecos:home:shell ; lines that do not parse are skipped, like runc.
std::vector<Entry> parse_passwd(std::string_view text) {
  std::vector<Entry> out;
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 4) continue;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) continue;
    Entry e;
    e.name = f[0];
    e.id = *uid;
    e.gid = *gid;
    if (f.size() > 5) e.home = f[5];
    out.push_back(e);
  }
  return out;
}

// name:x:gid:member,member
std::vector<Entry> parse_group(std::string_view text) {
  std::vector<Entry> out;
  for (const auto& line : split(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split(line, ':');
    if (f.size() < 3) continue;
    auto gid = parse_id(f[2]);
    if (!gid) continue;
    Entry e;
    e.name = f[0];
    e.id = *gid;
    if (f.size() > 3 && !f[3].empty()) e.members = split(f[3], ',');
    out.push_back(e);
  }
  return out;
}

}  // namespace

ResolvedUser resolve_user(const std::string& user, std::string_view passwd, std::string_view group) {
  ResolvedUser r;
  const size_t colon = user.find(':');
  const bool group_given = colon != std::string::npos;
  const std::string group_part = group_given ? user.substr(colon + 1) : std::string();
  // "" and ":gid" mean root.
  const std::string user_part = colon == 0 || user.empty() ? std::string(1, '0') : user.substr(0, colon);
  auto users = parse_passwd(passwd);
  auto groups = parse_group(group);

  // A numeric user matches by uid only, a name by name only.
  auto uid = parse_id(user_part);
  const Entry* pw = nullptr;
  for (const auto& e : users) {
    if (uid ? e.id == *uid : e.name == user_part) {
      pw = &e;
      break;
    }
  }
  std::string user_name;
  if (pw) {
    r.uid = pw->id;
    r.gid = pw->gid;
    if (!pw->home.empty()) r.home = pw->home;
    user_name = pw->name;
  } else if (uid) {
    r.uid = *uid;
    r.gid = 0;
  } else {
    throw Error("unable to find user " + user_part + ": no matching entries in passwd file");
  }

  if (group_given) {
    if (group_part.empty()) throw Error("user " + user + ": empty group");
    auto gid = parse_id(group_part);
    const Entry* gr = nullptr;
    for (const auto& e : groups) {
      if (gid ? e.id == *gid : e.name == group_part) {
        gr = &e;
        break;
      }
    }
    if (gr) r.gid = gr->id;
    else if (gid) r.gid = *gid;
    else throw Error("unable to find group " + group_part + ": no matching entries in group file");
  } else if (!user_name.empty()) {
    for (const auto& e : groups) {
      if (std::find(e.members.begin(), e.members.end(), user_name) == e.members.end()) continue;
      if (e.id != r.gid && std::find(r.additional_gids.begin(), r.additional_gids.end(), e.id) == r.additional_gids.end())
        r.additional_gids.push_back(e.id);
    }
  }
  return r;
}

}  // namespace ecsa::ecs
