// Docker's merge of a container with its image config, and user resolution.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "ecs/image_config_merge.hpp"
#include "ecs/user_lookup.hpp"

using namespace ecsa::ecs;
using Args = std::vector<std::string>;

namespace {

const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "# a comment\n"
    "broken line\n"
    "app:x:1000:1000:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const char* kGroup =
    "root:x:0:\n"
    "wheel:x:10:root,app\n"
    "app:x:1000:\n"
    "audio:x:29:app\n"
    "nogroup:x:65534:\n";

ImageConfig nginx_like() {
  ImageConfig i;
  i.entrypoint = Args{"/docker-entrypoint.sh"};
  i.cmd = Args{"nginx", "-g", "daemon off;"};
  i.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25"};
  i.working_dir = "/";
  i.stop_signal = "SIGQUIT";
  return i;
}

}  // namespace

TEST_CASE("ecs merge: entrypoint and command by Docker's rules", "[unit][ecs]") {
  ContainerPlan c;
  c.name = "web";
  SECTION("nothing given: the image's entrypoint and cmd") {
    REQUIRE(merge_image_config(c, nginx_like(), "", "").args ==
            Args{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"});
  }
  SECTION("command given: the image's entrypoint with it") {
    c.command = Args{"nginx", "-T"};
    REQUIRE(merge_image_config(c, nginx_like(), "", "").args == Args{"/docker-entrypoint.sh", "nginx", "-T"});
  }
  SECTION("entryPoint given: the image's cmd is dropped") {
    c.entry_point = Args{"/bin/sh", "-c"};
    REQUIRE(merge_image_config(c, nginx_like(), "", "").args == Args{"/bin/sh", "-c"});
  }
  SECTION("both given") {
    c.entry_point = Args{"/bin/sh", "-c"};
    c.command = Args{"echo hi"};
    REQUIRE(merge_image_config(c, nginx_like(), "", "").args == Args{"/bin/sh", "-c", "echo hi"});
  }
  SECTION("an empty entryPoint clears the image's and keeps its cmd") {
    c.entry_point = Args{};
    REQUIRE(merge_image_config(c, nginx_like(), "", "").args == Args{"nginx", "-g", "daemon off;"});
  }
  SECTION("no command anywhere") {
    REQUIRE_THROWS_WITH(merge_image_config(c, ImageConfig{}, "", ""),
                        "web: no command specified (neither the task definition nor the image has one)");
  }
}

TEST_CASE("ecs merge: env, working dir, stop signal, image volumes", "[unit][ecs]") {
  ContainerPlan c;
  c.name = "web";
  c.env = {{"NGINX_VERSION", "custom"}, {"A", "1"}};
  c.mounts = {{"data", "/data", false, ""}};
  ImageConfig img = nginx_like();
  img.volumes = {"/data", "/var/cache/nginx"};
  img.working_dir = "/usr/share/nginx";
  auto p = merge_image_config(c, img, kPasswd, kGroup);
  REQUIRE(p.env == Args{"NGINX_VERSION=custom", "A=1",
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"});
  REQUIRE(p.cwd == "/usr/share/nginx");
  REQUIRE(p.stop_signal == "SIGQUIT");
  REQUIRE(p.anonymous_volumes == Args{"/var/cache/nginx"});
  c.working_dir = "/srv";
  REQUIRE(merge_image_config(c, img, kPasswd, kGroup).cwd == "/srv");

  ContainerPlan bare;
  bare.name = "b";
  bare.command = Args{"true"};
  auto q = merge_image_config(bare, ImageConfig{}, "", "");
  REQUIRE(q.env == Args{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/"});
  REQUIRE(q.cwd == "/");
  REQUIRE(q.stop_signal == "SIGTERM");
  REQUIRE((q.ids.uid == 0 && q.ids.gid == 0));
}

TEST_CASE("ecs merge: the user comes from the container, else the image", "[unit][ecs]") {
  ContainerPlan c;
  c.name = "web";
  c.command = Args{"x"};
  ImageConfig img;
  img.user = "app";
  auto p = merge_image_config(c, img, kPasswd, kGroup);
  REQUIRE(p.user == "app");
  REQUIRE((p.ids.uid == 1000 && p.ids.gid == 1000));
  REQUIRE(p.env.back() == "HOME=/home/app");
  c.user = "nobody";
  REQUIRE(merge_image_config(c, img, kPasswd, kGroup).ids.uid == 65534);
  c.user = "ghost";
  REQUIRE_THROWS_WITH(merge_image_config(c, img, kPasswd, kGroup),
                      "web: unable to find user ghost: no matching entries in passwd file");
}

TEST_CASE("ecs user: every form resolved like runc", "[unit][ecs]") {
  SECTION("empty is root") {
    auto u = resolve_user("", kPasswd, kGroup);
    REQUIRE((u.uid == 0 && u.gid == 0 && u.home == "/root"));
    REQUIRE(u.additional_gids == std::vector<uint32_t>{10});
  }
  SECTION("name: primary group and supplementary groups from /etc/group") {
    auto u = resolve_user("app", kPasswd, kGroup);
    REQUIRE((u.uid == 1000 && u.gid == 1000 && u.home == "/home/app"));
    REQUIRE(u.additional_gids == std::vector<uint32_t>{10, 29});
  }
  SECTION("uid in passwd") {
    auto u = resolve_user("1000", kPasswd, kGroup);
    REQUIRE((u.uid == 1000 && u.gid == 1000 && u.home == "/home/app"));
  }
  SECTION("uid not in passwd: gid 0, home /") {
    auto u = resolve_user("4242", kPasswd, kGroup);
    REQUIRE((u.uid == 4242 && u.gid == 0 && u.home == "/"));
    REQUIRE(u.additional_gids.empty());
  }
  SECTION("uid:gid") {
    auto u = resolve_user("4242:4343", kPasswd, kGroup);
    REQUIRE((u.uid == 4242 && u.gid == 4343));
  }
  SECTION("user:group by names, no supplementary groups") {
    auto u = resolve_user("app:audio", kPasswd, kGroup);
    REQUIRE((u.uid == 1000 && u.gid == 29));
    REQUIRE(u.additional_gids.empty());
  }
  SECTION("user:gid and uid:group") {
    REQUIRE(resolve_user("app:5", kPasswd, kGroup).gid == 5);
    auto u = resolve_user("1000:nogroup", kPasswd, kGroup);
    REQUIRE((u.uid == 1000 && u.gid == 65534));
  }
  SECTION("no passwd file at all: numbers only") {
    auto u = resolve_user("1:2", "", "");
    REQUIRE((u.uid == 1 && u.gid == 2 && u.home == "/"));
    REQUIRE_THROWS_WITH(resolve_user("root", "", ""), "unable to find user root: no matching entries in passwd file");
  }
  SECTION("unknown group") {
    REQUIRE_THROWS_WITH(resolve_user("app:staff", kPasswd, kGroup),
                        "unable to find group staff: no matching entries in group file");
  }
}
