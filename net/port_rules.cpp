// nftables side of published ports: ecsa's own table, one atomic batch per change.
#include "net/port_rules.hpp"

#include "common/error.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"

namespace ecsa::net {
namespace {

// The table is ecsa's alone: published ports are elements of two DNAT maps (keyed without and
// with the host address), commented with the container id. Adding or removing a container is
// then one atomic element batch that cannot touch anybody else's rules.
std::string table_script(const NatTable& p) {
  std::string br = "\"" + p.bridge + "\"", net = p.subnet.to_string();
  return "table ip " + p.table +
         " {\n"
         "  map hostports { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
         "  map hostipports { type ipv4_addr . inet_proto . inet_service : ipv4_addr . "
         "inet_service; }\n"
         "  chain hostports_dnat {\n"
         "    dnat ip to ip daddr . meta l4proto . th dport map @hostipports\n"
         "    dnat ip to meta l4proto . th dport map @hostports\n"
         "  }\n"
         "  chain prerouting {\n"
         "    type nat hook prerouting priority dstnat; policy accept;\n"
         "    fib daddr type local jump hostports_dnat\n"
         "  }\n"
         "  chain output {\n"
         "    type nat hook output priority -100; policy accept;\n"
         "    fib daddr type local jump hostports_dnat\n"
         "  }\n"
         // route_localnet lets 127/8 destinations through the bridge; only DNATed ones
         // (published ports, a metadata endpoint) may, not a container's crafted packets to
         // the host's loopback-only services (CVE-2020-8558).
         "  chain input {\n"
         "    type filter hook input priority filter; policy accept;\n"
         "    iifname " +
         br +
         " ip daddr 127.0.0.0/8 ct status ! dnat drop\n"
         "  }\n"
         "  chain postrouting {\n"
         "    type nat hook postrouting priority srcnat; policy accept;\n"
         // The host reaching a published port via 127.0.0.1: the container could not answer
         // a loopback source.
         "    oifname " +
         br +
         " ip saddr 127.0.0.0/8 masquerade\n"
         // Hairpin: a container reaching a published port (its own or another's) via a host
         // address; without this the answer would bypass the host's conntrack.
         "    oifname " +
         br + " ip saddr " + net +
         " ct status dnat masquerade\n"
         // Outbound traffic leaves with the host's address.
         "    oifname != " +
         br + " ip saddr " + net + " ip daddr != " + net +
         " masquerade\n"
         "  }\n"
         "}\n";
}

// "add"/"delete" element statements for a container's published ports.
std::string elements_script(const std::string& verb, const std::string& table,
                            const ContainerNet& c) {
  std::string any, by_ip;
  for (const auto& p : c.ports) {
    for (unsigned i = 0; i < p.count; ++i) {
      std::string key = p.protocol + " . " + std::to_string(p.host_port + i);
      if (!p.host_ip.empty()) key = p.host_ip + " . " + key;
      if (verb == "add")
        key += " comment \"" + c.id + "\" : " + c.ip + " . " + std::to_string(p.container_port + i);
      std::string& list = p.host_ip.empty() ? any : by_ip;
      list += (list.empty() ? "" : ", ") + key;
    }
  }
  std::string s;
  if (!any.empty()) s += verb + " element ip " + table + " hostports { " + any + " }\n";
  if (!by_ip.empty()) s += verb + " element ip " + table + " hostipports { " + by_ip + " }\n";
  return s;
}

// The table script creates postrouting last, in the same transaction as everything else.
bool table_ready(const std::string& table) {
  return nft_ip_chain_exists(table, "postrouting");
}

bool is_missing_error(const std::string& err) {
  return err.find("No such file or directory") != std::string::npos;
}

}  // namespace

// Creates the table when missing (first use, after a reboot, or after someone flushed the
// ruleset), re-adding the entries of containers that still have state.
void ensure_nat_table(Nft& nft, const NatTable& p, const std::vector<ContainerNet>& existing) {
  if (table_ready(p.table)) return;
  std::string script =
      "add table ip " + p.table + "\ndelete table ip " + p.table + "\n" + table_script(p);
  for (const auto& c : existing)
    if (c.table == p.table) script += elements_script("add", p.table, c);
  nft.apply(script, "nftables: create table ip " + p.table);
}

void publish_ports(Nft& nft, const ContainerNet& c) {
  if (c.ports.empty()) return;
  nft.apply(elements_script("add", c.table, c), "nftables: publish ports of container " + c.id);
}

// Removes a container's map elements; elements (or the table) already gone are fine.
void unpublish_ports(Nft& nft, const ContainerNet& c) {
  if (c.ports.empty()) return;
  std::string err;
  if (nft.try_apply(elements_script("delete", c.table, c), &err)) return;
  if (!is_missing_error(err))
    throw Error("nftables: unpublish ports of container " + c.id + ": " + err);
  // Some were missing, which fails the whole batch: remove the rest one by one.
  for (const auto& p : c.ports) {
    for (unsigned i = 0; i < p.count; ++i) {
      ContainerNet one = c;
      one.ports = {p};
      one.ports[0].host_port = static_cast<uint16_t>(p.host_port + i);
      one.ports[0].container_port = static_cast<uint16_t>(p.container_port + i);
      one.ports[0].count = 1;
      if (!nft.try_apply(elements_script("delete", c.table, one), &err) && !is_missing_error(err))
        throw Error("nftables: unpublish ports of container " + c.id + ": " + err);
    }
  }
}

// Map elements whose comment names no container with state: left by a crash or by hand.
void remove_orphan_mappings(Nft& nft, const std::string& table, const std::set<std::string>& ids) {
  std::string script;
  for (const char* map : {"hostports", "hostipports"}) {
    std::string out = nft.list_json(std::string("list map ip ") + table + " " + map);
    if (out.empty()) continue;
    auto doc = json::Json::parse(out, nullptr, false);
    if (doc.is_discarded() || !doc.contains("nftables")) continue;
    std::string keys;
    for (const auto& obj : doc["nftables"]) {
      if (!obj.contains("map") || !obj["map"].contains("elem")) continue;
      for (const auto& e : obj["map"]["elem"]) {
        if (!e.is_array() || e.empty()) continue;
        json::Json key = e[0];
        std::string comment;
        if (key.is_object() && key.contains("elem")) {
          comment = key["elem"].value("comment", "");
          key = key["elem"]["val"];
        }
        if (ids.count(comment) || !key.is_object() || !key.contains("concat")) continue;
        std::string k;
        for (const auto& part : key["concat"])
          k +=
              (k.empty() ? "" : " . ") + (part.is_string() ? part.get<std::string>() : part.dump());
        keys += (keys.empty() ? "" : ", ") + k;
        log::info("net gc: removing orphaned port mapping " + k + " of \"" + comment + "\"");
      }
    }
    if (!keys.empty()) script += "delete element ip " + table + " " + map + " { " + keys + " }\n";
  }
  if (!script.empty()) nft.apply(script, "nftables: remove orphaned port mappings");
}

}  // namespace ecsa::net
