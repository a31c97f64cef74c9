// libmnl, opened on the first call: only bridge networking, conntrack cleanup and the
// host checks speak netlink through it; `run` without networking should not map it.
// Defines each libmnl function ecsa uses as a forwarder (common/lazy_library.hpp).
#include <libmnl/libmnl.h>

#include "common/lazy_library.hpp"

namespace {

ecsa::LazyLibrary& libmnl() {
  static ecsa::LazyLibrary lib("libmnl.so.0", "for netlink (bridge networking)");
  return lib;
}

}  // namespace

ECSA_LAZY_FORWARD(libmnl(), struct mnl_socket*, mnl_socket_open, (int bus), (bus))
ECSA_LAZY_FORWARD(libmnl(), struct mnl_socket*, mnl_socket_open2, (int bus, int flags),
                  (bus, flags))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_socket_bind,
                  (struct mnl_socket * nl, unsigned int groups, pid_t pid), (nl, groups, pid))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_socket_close, (struct mnl_socket * nl), (nl))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_socket_get_fd, (const struct mnl_socket* nl), (nl))
ECSA_LAZY_FORWARD(libmnl(), unsigned int, mnl_socket_get_portid, (const struct mnl_socket* nl),
                  (nl))
ECSA_LAZY_FORWARD(libmnl(), ssize_t, mnl_socket_sendto,
                  (const struct mnl_socket* nl, const void* req, size_t siz), (nl, req, siz))
ECSA_LAZY_FORWARD(libmnl(), ssize_t, mnl_socket_recvfrom,
                  (const struct mnl_socket* nl, void* buf, size_t siz), (nl, buf, siz))

ECSA_LAZY_FORWARD(libmnl(), struct nlmsghdr*, mnl_nlmsg_put_header, (void* buf), (buf))
ECSA_LAZY_FORWARD(libmnl(), void*, mnl_nlmsg_put_extra_header, (struct nlmsghdr * nlh, size_t size),
                  (nlh, size))
ECSA_LAZY_FORWARD(libmnl(), void*, mnl_nlmsg_get_payload, (const struct nlmsghdr* nlh), (nlh))
ECSA_LAZY_FORWARD(libmnl(), void*, mnl_nlmsg_get_payload_tail, (const struct nlmsghdr* nlh), (nlh))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_cb_run,
                  (const void* buf, size_t numbytes, unsigned int seq, unsigned int portid,
                   mnl_cb_t cb_data, void* data),
                  (buf, numbytes, seq, portid, cb_data, data))

ECSA_LAZY_FORWARD(libmnl(), uint16_t, mnl_attr_get_type, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), void*, mnl_attr_get_payload, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), uint16_t, mnl_attr_get_payload_len, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), const char*, mnl_attr_get_str, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), uint8_t, mnl_attr_get_u8, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), uint16_t, mnl_attr_get_u16, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), uint32_t, mnl_attr_get_u32, (const struct nlattr* attr), (attr))
ECSA_LAZY_FORWARD(libmnl(), void, mnl_attr_put,
                  (struct nlmsghdr * nlh, uint16_t type, size_t len, const void* data),
                  (nlh, type, len, data))
ECSA_LAZY_FORWARD(libmnl(), void, mnl_attr_put_strz,
                  (struct nlmsghdr * nlh, uint16_t type, const char* data), (nlh, type, data))
ECSA_LAZY_FORWARD(libmnl(), void, mnl_attr_put_u16,
                  (struct nlmsghdr * nlh, uint16_t type, uint16_t data), (nlh, type, data))
ECSA_LAZY_FORWARD(libmnl(), void, mnl_attr_put_u32,
                  (struct nlmsghdr * nlh, uint16_t type, uint32_t data), (nlh, type, data))
ECSA_LAZY_FORWARD(libmnl(), struct nlattr*, mnl_attr_nest_start,
                  (struct nlmsghdr * nlh, uint16_t type), (nlh, type))
ECSA_LAZY_FORWARD(libmnl(), void, mnl_attr_nest_end, (struct nlmsghdr * nlh, struct nlattr* start),
                  (nlh, start))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_attr_parse,
                  (const struct nlmsghdr* nlh, unsigned int offset, mnl_attr_cb_t cb, void* data),
                  (nlh, offset, cb, data))
ECSA_LAZY_FORWARD(libmnl(), int, mnl_attr_parse_nested,
                  (const struct nlattr* attr, mnl_attr_cb_t cb, void* data), (attr, cb, data))
